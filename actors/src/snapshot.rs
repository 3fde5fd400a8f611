//! Snapshots: every bard applied so far, in apply order, with the log offset to resume from.
//! Loading one replays its bards as `BardCreated` events through the same `apply`, so a
//! snapshot can never hold a state the log could not produce.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::actors::LogProgress;
use crate::event::{BardCreated, Event};
use crate::log::Offset;
use crate::model::Bard;
use crate::read_view::ReadView;
use crate::state::State;

/// The current snapshot format; a later one gets a new number and a converter.
pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    /// Resume the log here. Every record before it is reflected in `bards`; a few records at or
    /// after it may be too (taken while applying): re-applying them is a no-op (same ids).
    pub next_offset: Offset,
    pub bards: Vec<Arc<Bard>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("undecodable snapshot: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error("snapshot format {0} is not supported (this build reads {SNAPSHOT_VERSION})")]
    Version(u32),
}

impl Snapshot {
    /// Captures the read view. The offset is read first, so it never runs ahead of the bards.
    pub fn capture(view: &ReadView, progress: &LogProgress) -> Snapshot {
        let next_offset = progress.next_offset.load(Ordering::Acquire);
        Snapshot { version: SNAPSHOT_VERSION, next_offset, bards: view.all() }
    }

    pub fn encode(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("serializing owned data to a Vec cannot fail")
    }

    pub fn decode(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let snapshot: Snapshot = rmp_serde::from_slice(bytes)?;
        match snapshot.version {
            SNAPSHOT_VERSION => Ok(snapshot),
            other => Err(SnapshotError::Version(other)),
        }
    }

    /// The snapshot's bards as the events that created them, in order.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        self.bards.iter().map(|bard| Event::BardCreated(BardCreated { bard: Arc::clone(bard) }))
    }

    /// A pure state rebuilt from the snapshot (what `replay` starts from).
    pub fn to_state(&self) -> State {
        let mut state = State::default();
        for event in self.events() {
            state.apply(&event);
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BirthDate, NewBard};
    use uuid::Uuid;

    #[test]
    fn round_trip_and_same_digest() {
        let view = ReadView::default();
        let bards: Vec<Arc<Bard>> = (0..100u128)
            .map(|n| {
                let new = NewBard {
                    apelido: format!("a{n}").into(),
                    nome: "Nome".into(),
                    nascimento: BirthDate::parse("1999-09-09").unwrap(),
                    stack: (n % 2 == 0).then(|| vec!["Go".into()].into()),
                };
                Arc::new(new.into_bard(Uuid::from_u128(n)))
            })
            .collect();
        view.publish(&bards);
        let progress = LogProgress::default();
        progress.next_offset.store(42, Ordering::Release);
        let snapshot = Snapshot::capture(&view, &progress);
        let decoded = Snapshot::decode(&snapshot.encode()).unwrap();
        assert_eq!(decoded, snapshot);
        assert_eq!(decoded.next_offset, 42);
        let mut direct = State::default();
        for event in snapshot.events() {
            direct.apply(&event);
        }
        assert_eq!(decoded.to_state().digest(), direct.digest());
        assert_eq!(decoded.to_state().len(), 100);
    }

    #[test]
    fn unknown_versions_are_refused() {
        let snapshot = Snapshot { version: 99, next_offset: 0, bards: vec![] };
        assert!(matches!(Snapshot::decode(&snapshot.encode()), Err(SnapshotError::Version(99))));
        assert!(Snapshot::decode(b"garbage").is_err());
    }
}
