//! One case per SPEC validation rule: status class and the fields named in the error body.

use super::*;
use proptest::prelude::*;

const MALFORMED: Option<RejectionKind> = Some(RejectionKind::Malformed);
const UNPROCESSABLE: Option<RejectionKind> = Some(RejectionKind::Unprocessable);
const VALID: Option<RejectionKind> = None;

/// A valid body with `field` replaced by the raw JSON `value` (`None` removes it).
fn body_with(field: &str, value: Option<&str>) -> String {
    let mut parts = vec![];
    let base = [
        ("apelido", r#""josé""#),
        ("nome", r#""José Roberto""#),
        ("nascimento", r#""2000-10-01""#),
        ("stack", r#"["C#","Node","Oracle"]"#),
    ];
    for (name, default) in base {
        let raw = if name == field { value } else { Some(default) };
        if let Some(raw) = raw {
            parts.push(format!("\"{name}\":{raw}"));
        }
    }
    format!("{{{}}}", parts.join(","))
}

fn check(case: &str, body: &str, expected: Option<RejectionKind>, field: Option<&str>) {
    match (parse_new_bard(body.as_bytes()), expected) {
        (Ok(_), None) => {}
        (Err(rejection), Some(kind)) => {
            assert_eq!(rejection.kind, kind, "{case}: {body}");
            assert!(!rejection.problems.is_empty(), "{case}");
            if let Some(field) = field {
                assert_eq!(rejection.problems[0].field, field, "{case}");
                assert!(!rejection.problems[0].message.is_empty(), "{case}");
            }
        }
        (outcome, _) => panic!("{case}: {body} gave {outcome:?}, expected {expected:?}"),
    }
}

/// (case name, field, raw JSON value or absent, expected rejection or accepted, field reported).
type FieldCase<'a> = (&'a str, &'a str, Option<&'a str>, Option<RejectionKind>, &'a str);

#[test]
fn every_field_rule_of_the_spec_table() {
    let long_apelido = format!("\"{}\"", "é".repeat(33));
    let max_apelido = format!("\"{}\"", "é".repeat(32));
    let long_nome = format!("\"{}\"", "n".repeat(101));
    let max_nome = format!("\"{}\"", "ñ".repeat(100));
    let long_item = format!("[\"{}\"]", "x".repeat(33));
    let max_item = format!("[\"{}\"]", "ç".repeat(32));
    #[rustfmt::skip]
    let cases: Vec<FieldCase> = vec![
        ("apelido number", "apelido", Some("1"), MALFORMED, "apelido"),
        ("apelido object", "apelido", Some("{}"), MALFORMED, "apelido"),
        ("apelido bool", "apelido", Some("true"), MALFORMED, "apelido"),
        ("apelido array", "apelido", Some(r#"["a"]"#), MALFORMED, "apelido"),
        ("apelido missing", "apelido", None, UNPROCESSABLE, "apelido"),
        ("apelido null", "apelido", Some("null"), UNPROCESSABLE, "apelido"),
        ("apelido empty", "apelido", Some(r#""""#), UNPROCESSABLE, "apelido"),
        ("apelido 33 chars", "apelido", Some(&long_apelido), UNPROCESSABLE, "apelido"),
        ("apelido 32 chars of é", "apelido", Some(&max_apelido), VALID, ""),
        ("nome number (tournament)", "nome", Some("1"), MALFORMED, "nome"),
        ("nome object", "nome", Some(r#"{"a":1}"#), MALFORMED, "nome"),
        ("nome missing", "nome", None, UNPROCESSABLE, "nome"),
        ("nome null", "nome", Some("null"), UNPROCESSABLE, "nome"),
        ("nome empty", "nome", Some(r#""""#), UNPROCESSABLE, "nome"),
        ("nome 101 chars", "nome", Some(&long_nome), UNPROCESSABLE, "nome"),
        ("nome 100 chars of ñ", "nome", Some(&max_nome), VALID, ""),
        ("nascimento number", "nascimento", Some("20001001"), MALFORMED, "nascimento"),
        ("nascimento month 13", "nascimento", Some(r#""2001-13-01""#), MALFORMED, "nascimento"),
        ("nascimento feb 29 non-leap", "nascimento", Some(r#""2001-02-29""#), MALFORMED, "nascimento"),
        ("nascimento dd-mm-yyyy", "nascimento", Some(r#""12-12-2000""#), MALFORMED, "nascimento"),
        ("nascimento garbage", "nascimento", Some(r#""?!?!?""#), MALFORMED, "nascimento"),
        ("nascimento \"null\"", "nascimento", Some(r#""null""#), MALFORMED, "nascimento"),
        ("nascimento missing", "nascimento", None, UNPROCESSABLE, "nascimento"),
        ("nascimento null", "nascimento", Some("null"), UNPROCESSABLE, "nascimento"),
        ("nascimento empty", "nascimento", Some(r#""""#), UNPROCESSABLE, "nascimento"),
        ("nascimento leap day", "nascimento", Some(r#""2000-02-29""#), VALID, ""),
        ("stack string", "stack", Some(r#""string""#), MALFORMED, "stack"),
        ("stack number", "stack", Some("1"), MALFORMED, "stack"),
        ("stack number element (tournament)", "stack", Some(r#"[1,"PHP"]"#), MALFORMED, "stack"),
        ("stack object element", "stack", Some(r#"["PHP",{}]"#), MALFORMED, "stack"),
        ("stack null element", "stack", Some(r#"["PHP",null]"#), UNPROCESSABLE, "stack"),
        ("stack empty element", "stack", Some(r#"[""]"#), UNPROCESSABLE, "stack"),
        ("stack 33-char element", "stack", Some(&long_item), UNPROCESSABLE, "stack"),
        ("stack 32-char element", "stack", Some(&max_item), VALID, ""),
        ("stack null", "stack", Some("null"), VALID, ""),
        ("stack missing", "stack", None, VALID, ""),
        ("stack empty array", "stack", Some("[]"), VALID, ""),
    ];
    for (case, field, value, expected, first_field) in cases {
        let first = (!first_field.is_empty()).then_some(first_field);
        check(case, &body_with(field, value), expected, first);
    }
}

#[test]
fn whole_body_rules() {
    #[rustfmt::skip]
    let cases: Vec<(&str, &[u8])> = vec![
        ("not json", b"apelido=x"),
        ("truncated json", br#"{"apelido":"x""#),
        ("array", br#"[{"apelido":"x"}]"#),
        ("string", br#""x""#),
        ("number", b"12"),
        ("null", b"null"),
        ("empty body", b""),
        ("invalid utf-8", b"{\"apelido\":\"\xff\xfe\",\"nome\":\"n\",\"nascimento\":\"2000-01-01\"}"),
    ];
    for (case, body) in cases {
        let rejection = parse_new_bard(body).expect_err(case);
        assert_eq!(rejection.kind, RejectionKind::Malformed, "{case}");
        assert_eq!(rejection.problems[0].field, "body", "{case}");
    }
}

#[test]
fn first_failing_rule_decides_and_every_problem_is_listed() {
    let body = r#"{"apelido":null,"nome":1,"nascimento":"2001-02-29","stack":[""]}"#;
    let rejection = parse_new_bard(body.as_bytes()).unwrap_err();
    assert_eq!(rejection.kind, RejectionKind::Unprocessable);
    let fields: Vec<_> = rejection.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["apelido", "nome", "nascimento", "stack"]);

    let body = r#"{"apelido":"a","nome":1,"nascimento":null}"#;
    let rejection = parse_new_bard(body.as_bytes()).unwrap_err();
    assert_eq!(rejection.kind, RejectionKind::Malformed);
    assert_eq!(rejection.problems.len(), 2);
}

#[test]
fn unknown_fields_are_ignored_and_values_kept() {
    let body = r#"{"apelido":"ana","nome":"Ana","nascimento":"1990-01-31","stack":null,"x":[1]}"#;
    let bard = parse_new_bard(body.as_bytes()).unwrap();
    assert_eq!((&*bard.apelido, &*bard.nome), ("ana", "Ana"));
    assert_eq!(bard.nascimento.to_string(), "1990-01-31");
    assert_eq!(bard.stack, None);
}

proptest! {
    /// Any string of 1–32 characters is a valid apelido; 33 or more never is.
    #[test]
    fn apelido_length_counts_characters(text in "\\PC{1,40}") {
        let body = body_with("apelido", Some(&serde_json::to_string(&text).unwrap()));
        let chars = text.chars().count();
        let outcome = parse_new_bard(body.as_bytes());
        prop_assert_eq!(outcome.is_ok(), chars <= 32, "{} chars", chars);
    }

    /// Arbitrary bytes never panic, and a rejection always names at least one problem.
    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Err(rejection) = parse_new_bard(&body) {
            prop_assert!(!rejection.problems.is_empty());
        }
    }
}
