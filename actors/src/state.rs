//! The pure state machine: `State::apply` is the only code that changes bards, and it is the
//! same in `serve`, `replica`, `replay` and every shard.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::event::Event;
use crate::model::Bard;

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The bard is now stored.
    Created,
    /// An earlier event already holds this apelido: a recorded no-op, its request gets 422.
    ApelidoTaken,
    /// An earlier event already holds this id (a re-delivered event): a no-op.
    IdTaken,
    /// A log barrier passed; nothing changed.
    Barrier,
}

/// Order-independent fingerprint of a set of bards: equal sets give equal digests, whatever
/// the order or the sharding they were applied in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateDigest {
    pub count: u64,
    pub sum: u128,
}

impl StateDigest {
    fn add(&mut self, bard: &Bard) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(bard_hash(bard));
    }

    /// The digest of the union of two disjoint sets (shards).
    pub fn combine(self, other: StateDigest) -> StateDigest {
        StateDigest { count: self.count + other.count, sum: self.sum.wrapping_add(other.sum) }
    }
}

impl fmt::Display for StateDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:032x}", self.count, self.sum)
    }
}

/// Stable 128-bit hash of every field, each length-prefixed so fields cannot run together.
fn bard_hash(bard: &Bard) -> u128 {
    let mut hasher = Xxh3::new();
    hasher.update(bard.id.as_bytes());
    let date = bard.nascimento.to_string();
    for text in [&*bard.apelido, &*bard.nome, &date] {
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    let stack = bard.stack.as_deref();
    hasher.update(&[u8::from(stack.is_some())]);
    for item in stack.unwrap_or_default() {
        hasher.update(&(item.len() as u64).to_le_bytes());
        hasher.update(item.as_bytes());
    }
    hasher.digest128()
}

/// Which of `shard_count` partitions owns an apelido: equal apelidos always meet in one shard,
/// so uniqueness is decided there alone.
pub fn shard_for(apelido: &str, shard_count: usize) -> usize {
    (xxh3_64(apelido.as_bytes()) % shard_count.max(1) as u64) as usize
}

/// Bards by id and by apelido (the apelido table borrows the key from the bard itself).
#[derive(Default)]
pub struct State {
    by_id: HashMap<Uuid, Arc<Bard>>,
    by_apelido: HashTable<Arc<Bard>>,
    digest: StateDigest,
}

impl State {
    /// Applies one event. Deterministic: the same events in the same order give the same state.
    pub fn apply(&mut self, event: &Event) -> Outcome {
        let bard = match event {
            Event::LogBarrier(_) => return Outcome::Barrier,
            Event::BardCreated(created) => &created.bard,
        };
        if self.by_id.contains_key(&bard.id) {
            return Outcome::IdTaken;
        }
        let hash = xxh3_64(bard.apelido.as_bytes());
        let same_apelido = |held: &Arc<Bard>| held.apelido == bard.apelido;
        if self.by_apelido.find(hash, same_apelido).is_some() {
            return Outcome::ApelidoTaken;
        }
        let rehash = |held: &Arc<Bard>| xxh3_64(held.apelido.as_bytes());
        self.by_apelido.insert_unique(hash, Arc::clone(bard), rehash);
        self.by_id.insert(bard.id, Arc::clone(bard));
        self.digest.add(bard);
        Outcome::Created
    }

    pub fn get(&self, id: &Uuid) -> Option<&Arc<Bard>> {
        self.by_id.get(id)
    }

    pub fn contains_apelido(&self, apelido: &str) -> bool {
        let hash = xxh3_64(apelido.as_bytes());
        self.by_apelido.find(hash, |held| &*held.apelido == apelido).is_some()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn digest(&self) -> StateDigest {
        self.digest
    }

    pub fn bards(&self) -> impl Iterator<Item = &Arc<Bard>> {
        self.by_id.values()
    }
}

#[cfg(test)]
mod tests;
