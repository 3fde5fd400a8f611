//! Fuzzes the two other inputs a client controls, as `src/routes.rs` parses them:
//!
//! - the query string of `GET /bards?t=` (`web::Query::from_query` is `serde_urlencoded`),
//!   then the search itself on a fixed index, checked against the brute-force scan;
//! - the `{id}` of `GET /bards/{id}` (`Uuid::parse_str`), which must round-trip when accepted.
//!
//! Invariants: no panic, deterministic, at most 50 results, every result matches the term,
//! and the index finds exactly as many as the scan does (up to the limit).
#![no_main]

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use bardo_actors::model::{Bard, BirthDate, NewBard};
use bardo_actors::read_view::ReadView;
use bardo_actors::search::{create_search_index, SearchReader, MAX_RESULTS};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use uuid::Uuid;

/// `src/routes.rs::SearchQuery`.
#[derive(Deserialize)]
struct SearchQuery {
    t: Option<String>,
}

fuzz_target!(|data: &[u8]| {
    // The request line is ASCII; raw bytes above 0x7f never reach the handler.
    let Ok(text) = std::str::from_utf8(data) else { return };
    check_id(text);
    check_query(text);
});

fn check_id(id: &str) {
    let Ok(uuid) = Uuid::parse_str(id) else { return };
    assert_eq!(Uuid::parse_str(id).ok(), Some(uuid), "uuid parsing is not deterministic");
    let canonical = uuid.hyphenated().to_string();
    assert_eq!(Uuid::parse_str(&canonical).ok(), Some(uuid), "accepted id does not round-trip");
}

fn check_query(query: &str) {
    let Ok(parsed) = serde_urlencoded::from_str::<SearchQuery>(query) else { return };
    // The handler answers 400 for a missing or empty term; nothing to search.
    let Some(term) = parsed.t.filter(|term| !term.is_empty()) else { return };
    let (reader, view) = index();
    let found = reader.search(view, &term, MAX_RESULTS).expect("search never fails on a good index");
    let again = reader.search(view, &term, MAX_RESULTS).expect("search never fails on a good index");
    assert!(found.len() <= MAX_RESULTS, "more than {MAX_RESULTS} results");
    assert_eq!(ids(&found), ids(&again), "search is not deterministic");
    let folded = bardo_actors::model::fold_case(&term);
    assert!(found.iter().all(|bard| bard.matches(&folded)), "a result does not contain {term:?}");
    let expected = view.scan(&folded, usize::MAX).len().min(MAX_RESULTS);
    assert_eq!(found.len(), expected, "index and scan disagree on {term:?}");
}

fn ids(bards: &[Bard]) -> HashSet<Uuid> {
    bards.iter().map(|bard| bard.id).collect()
}

/// A fixed index: a few tricky texts (accents, final sigma, dotted İ, ß, emoji, C#) and 70
/// look-alikes so that common terms hit the 50-result limit.
fn index() -> &'static (SearchReader, ReadView) {
    static INDEX: OnceLock<(SearchReader, ReadView)> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut texts: Vec<(String, String, Vec<String>)> = [
            ("josé", "José Roberto", &["C#", "Node", "Oracle"][..]),
            ("ΟΔΟΣ", "Ὀδυσσεύς Λαέρτιος", &["ΣΣ"][..]),
            ("İstanbul", "İİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİİ", &["KİM"][..]),
            ("straße", "Ǆemal ǅemal ǆemal", &["🦀 Rust", "ﬁ"][..]),
            ("x", "Ézio Auditore", &[][..]),
        ]
        .iter()
        .map(|(a, n, s)| (a.to_string(), n.to_string(), s.iter().map(|s| s.to_string()).collect()))
        .collect();
        texts.extend((0..70).map(|n| (format!("bard{n}"), format!("Nome {n} da Silva"), vec!["Go".into()])));
        let bards: Vec<Arc<Bard>> = texts.into_iter().enumerate().map(|(n, text)| bard(n, text)).collect();
        let (mut writer, reader) = create_search_index().expect("index");
        let view = ReadView::from_bards(3, &bards);
        for (sequence, bard) in bards.iter().enumerate() {
            writer.add(sequence as u64, bard).expect("index add");
        }
        writer.commit().expect("index commit");
        (reader, view)
    })
}

fn bard(number: usize, (apelido, nome, stack): (String, String, Vec<String>)) -> Arc<Bard> {
    let stack = (!stack.is_empty()).then(|| stack.iter().map(|s| Arc::<str>::from(s.as_str())).collect());
    let nascimento = BirthDate::parse("2000-01-01").expect("date");
    let new = NewBard { apelido: apelido.into(), nome: nome.into(), nascimento, stack };
    Arc::new(new.into_bard(Uuid::from_u128(number as u128 + 1)))
}
