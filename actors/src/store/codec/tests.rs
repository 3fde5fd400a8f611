use super::*;
use crate::model::{fold_case, NewBard};
use proptest::prelude::*;
use std::sync::Arc;

fn bard(apelido: &str, nome: &str, stack: Option<Vec<&str>>) -> Bard {
    let new = NewBard {
        apelido: apelido.into(),
        nome: nome.into(),
        nascimento: BirthDate::parse("1987-02-28").unwrap(),
        stack: stack.map(|items| items.into_iter().map(Arc::<str>::from).collect()),
    };
    new.into_bard(Uuid::from_u128(0x1234_5678_9abc_def0_0fed_cba9_8765_4321))
}

fn round_trip(original: &Bard) -> Bard {
    let mut bytes = vec![];
    encode_bard(original, &mut bytes);
    bytes.extend_from_slice(b"next record");
    let decoded = BardRef::decode(&bytes);
    assert_eq!(decoded.len, bytes.len() - b"next record".len());
    assert_eq!(BardRef::apelido_of(&bytes), &*original.apelido);
    assert_eq!(BardRef::id_of(&bytes), original.id);
    decoded.to_bard(&vocabulary::read())
}

#[test]
fn tournament_shaped_bards_round_trip_compactly() {
    let original = bard("josé", "José Roberto", Some(vec!["C#", "Node", "Oracle"]));
    assert_eq!(round_trip(&original), original);
    let mut bytes = vec![];
    encode_bard(&original, &mut bytes);
    // One byte per element while its code is under 64 (other tests share the vocabulary).
    let stack_bytes: usize = ["C#", "Node", "Oracle"]
        .iter()
        .map(|name| if vocabulary::code_of(name).unwrap() < 64 { 1 } else { 2 })
        .sum();
    assert_eq!(bytes.len(), 16 + 3 + 1 + 5 + 1 + 13 + 1 + stack_bytes);
    for stack in [None, Some(vec![])] {
        let original = bard("a", "b", stack);
        assert_eq!(round_trip(&original), original);
    }
}

#[test]
fn inline_stack_names_decode_like_codes() {
    let mut bytes = vec![];
    let original = bard("ana", "Ana", None);
    encode_bard(&original, &mut bytes);
    bytes.pop(); // the null stack
    put_varint(&mut bytes, 3); // two elements
    put_varint(&mut bytes, (4 << 1) | 1);
    bytes.extend_from_slice(b"Rust");
    put_varint(&mut bytes, u64::from(vocabulary::code_of("Go").unwrap()) << 1);
    let decoded = BardRef::decode(&bytes);
    assert_eq!(decoded.len, bytes.len());
    let names: Vec<String> = decoded.texts(&vocabulary::read()).map(str::to_owned).collect();
    assert_eq!(names, ["ana", "Ana", "Rust", "Go"]);
}

proptest! {
    #[test]
    fn any_bard_round_trips(
        apelido in "\\PC{1,32}",
        nome in "\\PC{1,100}",
        stack in proptest::option::of(proptest::collection::vec("\\PC{1,32}", 0..20)),
    ) {
        let original = bard(&apelido, &nome, stack.as_ref().map(|s| s.iter().map(String::as_str).collect()));
        prop_assert_eq!(round_trip(&original), original);
    }

    #[test]
    fn folded_containment_matches_the_reference(text in "\\PC{0,12}", term in "\\PC{1,4}") {
        let term = fold_case(&term);
        prop_assert_eq!(contains_folded(&text, &term), fold_case(&text).contains(&term));
    }

    #[test]
    fn ascii_containment_matches_the_reference(text in "[a-zA-Z #]{0,12}", term in "[a-zA-Z #]{1,3}") {
        let term = fold_case(&term);
        prop_assert_eq!(contains_folded(&text, &term), fold_case(&text).contains(&term));
    }
}
