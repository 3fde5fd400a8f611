use super::*;
use crate::model::{BirthDate, NewBard};
use proptest::prelude::*;
use std::borrow::Borrow;
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

fn bard(number: u128, apelido: &str, nome: &str, stack: &[&str]) -> Arc<Bard> {
    let stack = (!stack.is_empty()).then(|| stack.iter().map(|s| Arc::<str>::from(*s)).collect());
    let new = NewBard {
        apelido: apelido.into(),
        nome: nome.into(),
        nascimento: BirthDate::parse("2000-01-01").unwrap(),
        stack,
    };
    Arc::new(new.into_bard(Uuid::from_u128(number)))
}

/// Builds an index and read view holding `bards`, everything committed.
fn indexed(bards: &[Arc<Bard>]) -> (SearchReader, ReadView) {
    let (mut writer, reader) = create_search_index().unwrap();
    let view = ReadView::from_bards(3, bards);
    for sequence in 0..view.len() as u64 {
        writer.add(sequence, &view.read().by_sequence(sequence).unwrap()).unwrap();
    }
    writer.commit().unwrap();
    (reader, view)
}

fn ids<B: Borrow<Bard>>(bards: &[B]) -> HashSet<Uuid> {
    bards.iter().map(|bard| bard.borrow().id).collect()
}

#[test]
fn spec_examples_short_terms_and_accents() {
    let bards = vec![
        bard(1, "josé", "José Roberto", &["C#", "Node", "Oracle"]),
        bard(2, "go", "Ana Maria", &["Go"]),
        bard(3, "x", "Ézio Auditore", &[]),
    ];
    let (reader, view) = indexed(&bards);
    let search = |term: &str| ids(&reader.search(&view, term, MAX_RESULTS).unwrap());
    let set = |numbers: &[u128]| numbers.iter().map(|n| Uuid::from_u128(*n)).collect::<HashSet<_>>();
    assert_eq!(search("node"), set(&[1]));
    assert_eq!(search("berto"), set(&[1]));
    assert_eq!(search("jo"), set(&[1]));
    assert_eq!(search("c#"), set(&[1]));
    assert_eq!(search("GO"), set(&[2]));
    assert_eq!(search("é"), set(&[1, 3]));
    assert_eq!(search("ézio a"), set(&[3]));
    assert_eq!(search("a"), set(&[1, 2, 3]));
    assert_eq!(search("roberto x"), set(&[]));
    assert_eq!(search("zzz"), set(&[]));
    assert_eq!(search(&"a".repeat(101)), set(&[]));
}

#[test]
fn at_most_the_limit() {
    let bards: Vec<_> = (0..120).map(|n| bard(n, &format!("node{n}"), "Nome", &["Node"])).collect();
    let (reader, view) = indexed(&bards);
    let found = reader.search(&view, "node", MAX_RESULTS).unwrap();
    assert_eq!(found.len(), MAX_RESULTS);
    assert_eq!(ids(&found).len(), MAX_RESULTS);
    assert!(found.iter().all(|bard| bard.matches("node")));
}

#[test]
fn nothing_is_searchable_before_commit() {
    let (mut writer, reader) = create_search_index().unwrap();
    let bards = [bard(1, "ana", "Ana", &[])];
    let view = ReadView::from_bards(1, &bards);
    writer.add(0, &bards[0]).unwrap();
    assert!(reader.search(&view, "ana", 50).unwrap().is_empty());
    assert_eq!(writer.commit().unwrap(), 1);
    assert_eq!(reader.search(&view, "ana", 50).unwrap().len(), 1);
}

/// Texts from a small alphabet with case and non-ASCII pairs (É/é, Σ/σ/ς, İ, ß).
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[abAB éÉσΣςİßc#]{{1,{max}}}")).unwrap()
}

fn bards_strategy() -> impl Strategy<Value = Vec<Arc<Bard>>> {
    let one = (text(8), text(12), proptest::collection::vec(text(4), 0..3));
    proptest::collection::vec(one, 1..150).prop_map(|items| {
        let each = items.into_iter().enumerate();
        each.map(|(n, (a, nome, stack))| {
            let stack: Vec<&str> = stack.iter().map(String::as_str).collect();
            bard(n as u128, &a, &nome, &stack)
        })
        .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The index finds exactly the brute-force substring matches, capped at 50.
    #[test]
    fn search_equals_brute_force(bards in bards_strategy(), terms in proptest::collection::vec(text(5), 1..12)) {
        let (reader, view) = indexed(&bards);
        for term in terms {
            let expected = view.scan(&crate::model::fold_case(&term), usize::MAX);
            let found = reader.search(&view, &term, MAX_RESULTS).unwrap();
            prop_assert_eq!(found.len(), expected.len().min(MAX_RESULTS), "term {:?}", term);
            prop_assert_eq!(ids(&found).len(), found.len());
            prop_assert!(ids(&found).is_subset(&ids(&expected)), "term {:?}", term);
        }
    }
}

/// Found by the fuzzer: `İ` lowercases to two characters, so a 51-`İ` term is 102 characters
/// folded, longer than any nome, yet it is a substring of a 62-`İ` nome.
#[test]
fn a_term_that_grows_when_folded_still_matches() {
    let bards = [bard(1, "dotted", &"İ".repeat(62), &[])];
    let (reader, view) = indexed(&bards);
    assert_eq!(ids(&reader.search(&view, &"İ".repeat(51), 50).unwrap()), ids(&bards));
    assert_eq!(ids(&reader.search(&view, &"i̇".repeat(51), 50).unwrap()), ids(&bards), "already folded");
}

/// `ΟΔΟΣ` lowercases to `οδος` (final sigma) while a lone `Σ` lowercases to `σ`.
#[test]
fn final_sigma_is_the_same_letter_as_sigma() {
    let bards = [bard(1, "ΟΔΟΣ", "Σοφία Παπαδοπούλου", &["ΣΣ"])];
    let (reader, view) = indexed(&bards);
    for term in ["Σ", "σ", "ς", "ΟΣ", "ος", "οσ", "ΟΔΟΣ", "οδος", "παπαδοπουλου", "Παπαδοπούλου"]
    {
        let expected = if term == "παπαδοπουλου" { HashSet::new() } else { ids(&bards) };
        assert_eq!(ids(&reader.search(&view, term, 50).unwrap()), expected, "{term}");
    }
}

/// Stack names are found whichever way they were indexed: whole (a vocabulary name) or as
/// trigrams (past `MAX_WHOLE_STACK_TERMS`, as hostile input gets), by terms of every length.
#[test]
fn stack_names_are_found_whole_or_as_trigrams() {
    let names: Vec<String> = (0..MAX_WHOLE_STACK_TERMS + 8).map(|n| format!("cap-test-{n}")).collect();
    for name in &names {
        crate::store::vocabulary::code_of(name);
    }
    let late = names.last().unwrap().as_str();
    assert!(crate::store::vocabulary::code_of(late).unwrap() >= MAX_WHOLE_STACK_TERMS);
    let bards = vec![
        bard(1, "a1", "Um", &["Node", late]),
        bard(2, "b2", "Dois", &["NodeJS"]),
        bard(3, "c3", "Tres", &[]),
    ];
    let (reader, view) = indexed(&bards);
    let search = |term: &str| ids(&reader.search(&view, term, MAX_RESULTS).unwrap());
    let set = |numbers: &[u128]| numbers.iter().map(|n| Uuid::from_u128(*n)).collect::<HashSet<_>>();
    assert_eq!(search("node"), set(&[1, 2]), "whole names, a substring of two of them");
    assert_eq!(search("JS"), set(&[2]), "a short term inside a whole name");
    assert_eq!(search(&late[2..]), set(&[1]), "a name past the cap, by trigrams");
    assert_eq!(search("-"), set(&[1]), "a short term inside a name past the cap");
    assert_eq!(search("e"), set(&[1, 2, 3]), "both paths, each bard once");
}
