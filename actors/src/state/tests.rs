use super::*;
use crate::event::{BardCreated, LogBarrier};
use crate::model::{BirthDate, NewBard};
use proptest::prelude::*;
use std::sync::Arc;

fn created(id: u128, apelido: &str, nome: &str) -> Event {
    let new = NewBard {
        apelido: apelido.into(),
        nome: nome.into(),
        nascimento: BirthDate::parse("1999-01-02").unwrap(),
        stack: None,
    };
    Event::BardCreated(BardCreated { bard: Arc::new(new.into_bard(Uuid::from_u128(id))) })
}

#[test]
fn first_apelido_wins_later_ones_are_no_ops() {
    let mut state = State::default();
    assert_eq!(state.apply(&created(1, "ana", "Ana")), Outcome::Created);
    let before = state.digest();
    assert_eq!(state.apply(&created(2, "ana", "Other")), Outcome::ApelidoTaken);
    assert_eq!(state.apply(&created(1, "bia", "Bia")), Outcome::IdTaken);
    let barrier = Event::LogBarrier(LogBarrier { barrier: Uuid::nil() });
    assert_eq!(state.apply(&barrier), Outcome::Barrier);
    assert_eq!(state.digest(), before);
    assert_eq!(state.len(), 1);
    assert_eq!(state.get(&Uuid::from_u128(1)).unwrap().nome, "Ana");
    assert!(state.contains_apelido("ana") && !state.contains_apelido("Ana"));
}

#[test]
fn digest_depends_on_content() {
    let mut one = State::default();
    let mut other = State::default();
    one.apply(&created(1, "ana", "Ana"));
    other.apply(&created(1, "ana", "Anna"));
    assert_ne!(one.digest(), other.digest());
}

/// Events drawn from a small apelido alphabet so that duplicates are common; some events are
/// re-deliveries of an earlier one (same id, same apelido), as a reconnecting consumer sees.
fn events_strategy() -> impl Strategy<Value = Vec<Event>> {
    let event = ("[a-d]{1,2}", "[a-z ]{1,6}", proptest::option::weighted(0.1, any::<usize>()));
    proptest::collection::vec(event, 0..120).prop_map(|items| {
        let mut events: Vec<Event> = vec![];
        for (index, (apelido, nome, redeliver)) in items.into_iter().enumerate() {
            let event = match redeliver {
                Some(pick) if !events.is_empty() => events[pick % events.len()].clone(),
                _ => created(index as u128, &apelido, &nome),
            };
            events.push(event);
        }
        events
    })
}

/// Splits events by owning shard, remembering each one's position in the log.
fn partition(events: &[Event], shards: usize) -> Vec<Vec<(usize, &Event)>> {
    let mut partitions: Vec<Vec<(usize, &Event)>> = vec![vec![]; shards];
    for (position, event) in events.iter().enumerate() {
        let Event::BardCreated(c) = event else { unreachable!("strategy makes creates only") };
        partitions[shard_for(&c.bard.apelido, shards)].push((position, event));
    }
    partitions
}

proptest! {
    /// One state or N shards fed in any interleaving: same outcomes, same digest.
    #[test]
    fn apply_is_deterministic_across_shards(events in events_strategy(), shards in 1usize..9, seed: u64) {
        let mut whole = State::default();
        let outcomes: Vec<Outcome> = events.iter().map(|e| whole.apply(e)).collect();
        let partitions = partition(&events, shards);
        // Shards run concurrently: interleave them by a seeded order, each keeping its own order.
        let mut states: Vec<State> = (0..shards).map(|_| State::default()).collect();
        let mut cursors = vec![0usize; shards];
        let mut sharded = vec![None; events.len()];
        let mut rng = seed;
        while cursors.iter().zip(&partitions).any(|(c, p)| *c < p.len()) {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let shard = (rng >> 33) as usize % shards;
            if let Some(&(position, event)) = partitions[shard].get(cursors[shard]) {
                sharded[position] = Some(states[shard].apply(event));
                cursors[shard] += 1;
            }
        }
        let digest = states.iter().fold(StateDigest::default(), |d, s| d.combine(s.digest()));
        prop_assert_eq!(digest, whole.digest());
        let sharded: Vec<Outcome> = sharded.into_iter().map(Option::unwrap).collect();
        prop_assert_eq!(sharded, outcomes);
    }
}

proptest! {
    /// A batch rolled back leaves the state as if it never came; applied again, it decides as
    /// the first time (a shard that failed mid-batch).
    #[test]
    fn rollback_forgets_exactly_the_batch(events in events_strategy(), cut in any::<prop::sample::Index>()) {
        let cut = cut.index(events.len() + 1);
        let (before, batch) = events.split_at(cut);
        let mut straight = State::default();
        let expected: Vec<Outcome> = events.iter().map(|e| straight.apply(e)).collect();
        let mut state = State::default();
        let mut outcomes: Vec<Outcome> = before.iter().map(|e| state.apply(e)).collect();
        let (mark, digest, len) = (state.mark(), state.digest(), state.len());
        for event in batch {
            state.apply(event);
        }
        state.rollback(mark);
        prop_assert_eq!((state.digest(), state.len()), (digest, len));
        prop_assert_eq!(state.iter().count(), len);
        outcomes.extend(batch.iter().map(|e| state.apply(e)));
        prop_assert_eq!(outcomes, expected);
        prop_assert_eq!(state.digest(), straight.digest());
        for event in &events {
            let Event::BardCreated(c) = event else { continue };
            prop_assert_eq!(state.contains_apelido(&c.bard.apelido), straight.contains_apelido(&c.bard.apelido));
            let (held, reference) = (state.get(&c.bard.id), straight.get(&c.bard.id));
            prop_assert_eq!(held.map(|b| (b.apelido, b.nome)), reference.map(|b| (b.apelido, b.nome)));
        }
    }
}

#[test]
fn records_are_compact() {
    let mut state = State::default();
    for n in 0..10_000u128 {
        state.apply(&created(n, &format!("apelido{n}"), "Nome Sobrenome"));
    }
    let memory = state.memory();
    // 16 id + 3 date + 1 + ~9 apelido + 1 + 14 nome + 1 null stack = ~45 bytes a record.
    assert!(memory.records / state.len() <= 46, "{memory:?}");
    assert!((memory.id_table + memory.apelido_table) / state.len() <= 2 * 11, "{memory:?}");
}
