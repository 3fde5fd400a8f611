use super::*;
use crate::model::{BirthDate, NewBard};
use crate::read_view::BardLocation;
use crate::state::State;
use uuid::Uuid;

fn created(n: u128) -> Event {
    let new = NewBard {
        apelido: format!("a{n}").into(),
        nome: "Nome".into(),
        nascimento: BirthDate::parse("1999-09-09").unwrap(),
        stack: n.is_multiple_of(2).then(|| vec!["Go".into()].into()),
    };
    Event::BardCreated(BardCreated { bard: Arc::new(new.into_bard(Uuid::from_u128(n))) })
}

/// A one-shard view holding `count` bards, applied and published as the reader does.
fn view_with(count: u128) -> (Arc<ReadView>, State) {
    let view = Arc::new(ReadView::new(1));
    let mut reference = State::default();
    for n in 0..count {
        let event = created(n);
        reference.apply(&event);
        let position = view.shard_state(0).write().apply_at(&event).position.unwrap();
        view.publish(&[BardLocation { shard: 0, position }]);
    }
    (view, reference)
}

#[test]
fn a_mark_round_trips_to_the_same_digest() {
    let (view, reference) = view_with(10_000);
    let progress = LogProgress::default();
    progress.next_offset.store(42, Ordering::Release);
    let mark = SnapshotMark::capture(&view, &progress);
    assert_eq!(mark, SnapshotMark { next_offset: 42, bards: 10_000 });
    let bytes = encode_snapshot(&view, mark);
    let mut decoder = SnapshotDecoder::new(bytes.as_slice()).unwrap();
    assert_eq!(
        decoder.header(),
        SnapshotHeader {
            version: SNAPSHOT_VERSION,
            next_offset: 42,
            bards: 10_000,
            index_documents: 0,
            index_files: 0
        }
    );
    let mut loaded = State::default();
    loop {
        let batch = decoder.next_batch(3000).unwrap();
        if batch.is_empty() {
            break;
        }
        for event in &batch {
            loaded.apply(event);
        }
    }
    assert_eq!(loaded.digest(), reference.digest());
    let first = loaded.iter().next().unwrap().1;
    assert_eq!((first.apelido, first.id), ("a0", Uuid::from_u128(0)), "apply order kept");
}

#[test]
fn a_prefix_mark_holds_only_its_prefix() {
    let (view, _) = view_with(100);
    let bytes = encode_snapshot(&view, SnapshotMark { next_offset: 7, bards: 60 });
    let mut decoder = SnapshotDecoder::new(bytes.as_slice()).unwrap();
    assert_eq!(decoder.next_batch(1000).unwrap().len(), 60);
    assert!(decoder.next_batch(1000).unwrap().is_empty());
}

#[test]
fn bad_streams_are_refused_with_a_reason() {
    let (view, _) = view_with(10);
    let bytes = encode_snapshot(&view, SnapshotMark { next_offset: 1, bards: 10 });
    let mut truncated = SnapshotDecoder::new(&bytes[..bytes.len() - 20]).unwrap();
    assert!(matches!(truncated.next_batch(100), Err(SnapshotError::Truncated { promised: 10, .. })));
    let mut header = vec![];
    let old = SnapshotHeader { version: 1, next_offset: 0, bards: 0, index_documents: 0, index_files: 0 };
    rmp_serde::encode::write_named(&mut header, &old).unwrap();
    assert!(matches!(SnapshotDecoder::new(header.as_slice()), Err(SnapshotError::Version(1))));
    assert!(SnapshotDecoder::new(&b"garbage"[..]).is_err());
}

/// The committed index travels with the snapshot and opens on the other side as it was.
#[test]
fn the_search_index_ships_with_the_snapshot() {
    let (view, _) = view_with(3_000);
    let (mut writer, reader) = crate::search::create_search_index().unwrap();
    for sequence in 0..2_500u64 {
        writer.add(sequence, &view.read().by_sequence(sequence).unwrap()).unwrap();
    }
    writer.commit().unwrap();
    let files = reader.committed_files().unwrap();
    assert_eq!(files.documents, 2_500, "committed documents only");
    let mark = SnapshotMark { next_offset: 9, bards: 3_000 };
    let bytes: Vec<u8> = SnapshotEncoder::new(Arc::clone(&view), mark).with_index(files).flatten().collect();
    let feed = SnapshotFeed::start(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!((feed.header.index_documents, feed.header.bards), (2_500, 3_000));
    let (_, shipped) = feed.index.unwrap().open().unwrap();
    assert_eq!(shipped.indexed(), 2_500);
    for term in ["a1", "a2999", "a2499", "nom", "go"] {
        let ids = |found: Vec<Bard>| {
            found.into_iter().map(|bard| bard.id).collect::<std::collections::HashSet<_>>()
        };
        let expected = ids(reader.search(&view, term, 50).unwrap());
        assert_eq!(ids(shipped.search(&view, term, 50).unwrap()), expected, "{term}");
    }
}
