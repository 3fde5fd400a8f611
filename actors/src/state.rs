//! The pure state machine: `State::apply` is the only code that changes bards, and it is the
//! same in `serve`, `replica`, `replay` and every shard.

use std::fmt;

use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::event::Event;
use crate::model::Bard;
use crate::store::{encode_bard, Arena, ArenaMark, BardRef, Position};

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

/// One partition's bards: compact records in an [`Arena`], found by id and by apelido through
/// tables of 4-byte positions (the strings live once, in the record).
#[derive(Default)]
pub struct State {
    arena: Arena,
    by_id: HashTable<Position>,
    by_apelido: HashTable<Position>,
    len: usize,
    digest: StateDigest,
    record: Vec<u8>,
}

/// What applying one event did, and where a created bard's record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub outcome: Outcome,
    pub position: Option<Position>,
}

/// A state to roll back to (see [`State::rollback`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateMark {
    arena: ArenaMark,
    len: usize,
    digest: StateDigest,
}

/// Bytes a state holds, by part (for the memory breakdown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateMemory {
    pub records: usize,
    pub records_reserved: usize,
    pub id_table: usize,
    pub apelido_table: usize,
}

fn id_hash(id: &Uuid) -> u64 {
    xxh3_64(id.as_bytes())
}

impl State {
    /// Applies one event. Deterministic: the same events in the same order give the same state.
    pub fn apply(&mut self, event: &Event) -> Outcome {
        self.apply_at(event).outcome
    }

    /// Applies one event and says where a created bard was stored.
    pub fn apply_at(&mut self, event: &Event) -> Applied {
        let bard = match event {
            Event::LogBarrier(_) => return Applied { outcome: Outcome::Barrier, position: None },
            Event::BardCreated(created) => &created.bard,
        };
        let refused = |outcome| Applied { outcome, position: None };
        if self.position_of(&bard.id).is_some() {
            return refused(Outcome::IdTaken);
        }
        let apelido_hash = xxh3_64(bard.apelido.as_bytes());
        if self.find_apelido(apelido_hash, &bard.apelido).is_some() {
            return refused(Outcome::ApelidoTaken);
        }
        self.record.clear();
        encode_bard(bard, &mut self.record);
        // 4 GiB of records in one shard: far past any memory limit this runs under.
        let position = self.arena.push(&self.record).expect("a shard's arena holds 4 GiB");
        let arena = &self.arena;
        self.by_apelido.insert_unique(apelido_hash, position, |&held| {
            xxh3_64(BardRef::apelido_of(arena.bytes_from(held)).as_bytes())
        });
        self.by_id.insert_unique(id_hash(&bard.id), position, |&held| {
            id_hash(&BardRef::id_of(arena.bytes_from(held)))
        });
        self.len += 1;
        self.digest.add(bard);
        Applied { outcome: Outcome::Created, position: Some(position) }
    }

    fn position_of(&self, id: &Uuid) -> Option<Position> {
        let arena = &self.arena;
        let same = |held: &Position| BardRef::id_of(arena.bytes_from(*held)) == *id;
        self.by_id.find(id_hash(id), same).copied()
    }

    fn find_apelido(&self, hash: u64, apelido: &str) -> Option<Position> {
        let arena = &self.arena;
        let same = |held: &Position| BardRef::apelido_of(arena.bytes_from(*held)) == apelido;
        self.by_apelido.find(hash, same).copied()
    }

    /// The record of a bard by id, read in place.
    pub fn get(&self, id: &Uuid) -> Option<BardRef<'_>> {
        self.position_of(id).map(|position| self.at(position))
    }

    /// The record at a position this state handed out.
    pub fn at(&self, position: Position) -> BardRef<'_> {
        BardRef::decode(self.arena.bytes_from(position))
    }

    pub fn contains_apelido(&self, apelido: &str) -> bool {
        self.find_apelido(xxh3_64(apelido.as_bytes()), apelido).is_some()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn digest(&self) -> StateDigest {
        self.digest
    }

    /// Every bard with its position, in apply order.
    pub fn iter(&self) -> impl Iterator<Item = (Position, BardRef<'_>)> {
        self.arena.chunks().enumerate().flat_map(|(number, chunk)| {
            let mut offset = 0;
            std::iter::from_fn(move || {
                let bard = (offset < chunk.len()).then(|| BardRef::decode(&chunk[offset..]))?;
                let position = Arena::position(number, offset);
                offset += bard.len;
                Some((position, bard))
            })
        })
    }

    /// The state as it is now, to come back to after a failed batch.
    pub fn mark(&self) -> StateMark {
        StateMark { arena: self.arena.mark(), len: self.len, digest: self.digest }
    }

    /// Forgets every bard applied after `mark` was taken.
    pub fn rollback(&mut self, mark: StateMark) {
        self.by_id.retain(|position| Arena::is_before(*position, mark.arena));
        self.by_apelido.retain(|position| Arena::is_before(*position, mark.arena));
        self.arena.truncate(mark.arena);
        (self.len, self.digest) = (mark.len, mark.digest);
    }

    pub fn memory(&self) -> StateMemory {
        let (records, records_reserved) = self.arena.bytes();
        StateMemory {
            records,
            records_reserved,
            id_table: self.by_id.allocation_size(),
            apelido_table: self.by_apelido.allocation_size(),
        }
    }
}

#[cfg(test)]
mod tests;
