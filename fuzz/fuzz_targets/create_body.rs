//! Fuzzes the create path exactly as `POST /bards` runs it after reading the body
//! (`src/routes.rs::create_bard`: body bytes → `parse_new_bard` → `NewBard`), and checks:
//!
//! - nothing panics (libFuzzer reports any panic as a crash);
//! - the outcome is deterministic (same bytes, same result, twice);
//! - the accept/reject decision and the 400-vs-422 class agree with an independent
//!   re-implementation of the SPEC table below (first failing rule decides);
//! - an accepted bard satisfies every SPEC rule and survives the two encodings it meets
//!   afterwards: the JSON response body and the MessagePack log record.
#![no_main]

use std::sync::Arc;

use bardo_actors::event::{decode_record, encode_record, BardCreated, Event};
use bardo_actors::model::{Bard, NewBard};
use bardo_actors::validation::{parse_new_bard, Rejection, RejectionKind};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use uuid::Uuid;

/// `src/routes.rs::MAX_BODY_BYTES`: larger bodies get 413 before validation runs.
const MAX_BODY_BYTES: usize = 64 * 1024;

fuzz_target!(|body: &[u8]| {
    if body.len() > MAX_BODY_BYTES {
        return;
    }
    let first = parse_new_bard(body);
    let second = parse_new_bard(body);
    assert_eq!(first, second, "validation is not deterministic");
    let expected = spec_verdict(body);
    match first {
        Ok(new) => {
            assert_eq!(expected, Ok(()), "accepted a body the SPEC rejects");
            check_accepted(body, new);
        }
        Err(rejection) => check_rejected(&rejection, expected),
    }
});

/// The SPEC's table, written independently of `actors/src/validation.rs`.
/// `Ok(())` = 201-able; `Err(kind)` = the class of the first failing rule.
fn spec_verdict(body: &[u8]) -> Result<(), RejectionKind> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Err(RejectionKind::Malformed);
    };
    let verdicts = [
        text_rule(object.get("apelido"), 32),
        text_rule(object.get("nome"), 100),
        date_rule(object.get("nascimento")),
        stack_rule(object.get("stack")),
    ];
    verdicts.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}

fn text_rule(value: Option<&Value>, max_chars: usize) -> Result<(), RejectionKind> {
    match value {
        None | Some(Value::Null) => Err(RejectionKind::Unprocessable),
        Some(Value::String(text)) if text.is_empty() || text.chars().count() > max_chars => {
            Err(RejectionKind::Unprocessable)
        }
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(RejectionKind::Malformed),
    }
}

fn date_rule(value: Option<&Value>) -> Result<(), RejectionKind> {
    match value {
        None | Some(Value::Null) => Err(RejectionKind::Unprocessable),
        Some(Value::String(text)) if text.is_empty() => Err(RejectionKind::Unprocessable),
        Some(Value::String(text)) if is_calendar_date(text) => Ok(()),
        Some(_) => Err(RejectionKind::Malformed),
    }
}

fn stack_rule(value: Option<&Value>) -> Result<(), RejectionKind> {
    let items = match value {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(RejectionKind::Malformed),
    };
    let element = |item: &Value| match item {
        Value::String(text) if !text.is_empty() && text.chars().count() <= 32 => Ok(()),
        Value::String(_) | Value::Null => Err(RejectionKind::Unprocessable),
        _ => Err(RejectionKind::Malformed),
    };
    items.iter().map(element).find(Result::is_err).unwrap_or(Ok(()))
}

/// `YYYY-MM-DD`, ASCII digits only, a day that exists in the proleptic Gregorian calendar.
fn is_calendar_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts[..] else { return false };
    let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return false;
    }
    let (year, month, day): (u32, u32, u32) =
        (year.parse().unwrap(), month.parse().unwrap(), day.parse().unwrap());
    let leap = year % 400 == 0 || (year % 4 == 0 && year % 100 != 0);
    let lengths = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    year >= 1 && (1..=12).contains(&month) && day >= 1 && day <= lengths[month as usize - 1]
}

fn check_rejected(rejection: &Rejection, expected: Result<(), RejectionKind>) {
    assert_eq!(Err(rejection.kind), expected, "wrong status class: {rejection:?}");
    assert!(!rejection.problems.is_empty(), "a rejection must list its problems");
    for problem in &rejection.problems {
        let known = ["body", "apelido", "nome", "nascimento", "stack"];
        assert!(known.contains(&problem.field.as_str()), "unknown field {:?}", problem.field);
        assert!(!problem.message.is_empty());
    }
}

/// Every field of the accepted bard is the body's own value and obeys the SPEC.
fn check_accepted(body: &[u8], new: NewBard) {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        panic!("accepted a body that is not a JSON object");
    };
    let text = |field: &str| object.get(field).and_then(Value::as_str).expect("accepted text field");
    assert_eq!(&*new.apelido, text("apelido"));
    assert_eq!(&*new.nome, text("nome"));
    let (apelido, nome) = (new.apelido.chars().count(), new.nome.chars().count());
    assert!((1..=32).contains(&apelido) && (1..=100).contains(&nome));
    assert_eq!(new.nascimento.to_string(), text("nascimento"));
    assert!(is_calendar_date(&new.nascimento.to_string()));
    check_stack(&object, &new);
    check_round_trips(new);
}

fn check_stack(object: &Map<String, Value>, new: &NewBard) {
    match (object.get("stack"), &new.stack) {
        (None | Some(Value::Null), None) => {}
        (Some(Value::Array(items)), Some(stack)) => {
            assert_eq!(items.len(), stack.len(), "stack elements lost or added");
            for (item, kept) in items.iter().zip(stack.iter()) {
                assert_eq!(item.as_str(), Some(&**kept));
                assert!((1..=32).contains(&kept.chars().count()));
            }
        }
        (given, kept) => panic!("stack {given:?} became {kept:?}"),
    }
}

/// What the service does with an accepted bard: answers it as JSON, logs it as MessagePack.
fn check_round_trips(new: NewBard) {
    let bard = Arc::new(new.into_bard(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)));
    let json = serde_json::to_vec(&*bard).expect("a bard serializes to JSON");
    let back: Bard = serde_json::from_slice(&json).expect("the JSON answer parses back");
    assert_eq!(back, *bard, "JSON round trip changed the bard");
    let events = vec![Event::BardCreated(BardCreated { bard: Arc::clone(&bard) })];
    let record = decode_record(&encode_record(&events)).expect("the log record decodes");
    assert_eq!(record.events, events, "MessagePack round trip changed the bard");
}
