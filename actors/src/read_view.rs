//! The read side shared with HTTP handlers. The bards themselves live in the shards' states
//! (each behind its own lock, written only by its `Shard` actor); the view adds the global apply
//! order — one 8-byte location per bard — which the search index and snapshots number bards by.
//! The order is written only by the `LogReader`, after the shards decided a batch.

use std::sync::Arc;

use parking_lot::{RwLock, RwLockReadGuard};
use uuid::Uuid;

use crate::event::{BardCreated, Event};
use crate::model::Bard;
use crate::state::{shard_for, State, StateDigest};
use crate::store::{vocabulary, BardRef, Position};

/// Locations per chunk of the order: growth never copies the whole order.
const ORDER_CHUNK: usize = 1 << 16;

/// Where a bard is: its shard and its record's position there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BardLocation {
    pub shard: u32,
    pub position: Position,
}

impl BardLocation {
    fn pack(self) -> u64 {
        (u64::from(self.shard) << 32) | u64::from(self.position)
    }

    fn unpack(packed: u64) -> BardLocation {
        BardLocation { shard: (packed >> 32) as u32, position: packed as u32 }
    }
}

/// Bytes a view holds, by part (the memory breakdown in `/status` and the benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ViewMemory {
    pub bards: usize,
    /// Encoded records, and the arenas' reserved (allocated) bytes.
    pub records: usize,
    pub records_reserved: usize,
    pub id_tables: usize,
    pub apelido_tables: usize,
    /// The global apply order.
    pub order: usize,
}

/// A shard's state, shared between its actor (the only writer) and readers.
pub type SharedState = Arc<RwLock<State>>;

pub struct ReadView {
    shards: Vec<SharedState>,
    order: RwLock<Order>,
}

#[derive(Default)]
struct Order {
    chunks: Vec<Vec<u64>>,
    len: usize,
}

impl Order {
    fn push(&mut self, packed: u64) {
        if self.chunks.last().is_none_or(|chunk| chunk.len() == ORDER_CHUNK) {
            self.chunks.push(Vec::with_capacity(ORDER_CHUNK));
        }
        self.chunks.last_mut().expect("a chunk was just ensured").push(packed);
        self.len += 1;
    }

    fn get(&self, sequence: u64) -> Option<BardLocation> {
        let sequence = usize::try_from(sequence).ok().filter(|&s| s < self.len)?;
        Some(BardLocation::unpack(self.chunks[sequence / ORDER_CHUNK][sequence % ORDER_CHUNK]))
    }
}

impl ReadView {
    /// An empty view over `shards` empty states.
    pub fn new(shards: usize) -> ReadView {
        let shards = (0..shards.max(1)).map(|_| SharedState::default()).collect();
        ReadView { shards, order: RwLock::default() }
    }

    /// A view over `shards` holding these bards, applied in this order without actors (tests,
    /// benchmarks); the ones refused (taken id or apelido) are left out.
    pub fn from_bards(shards: usize, bards: &[Arc<Bard>]) -> ReadView {
        let view = ReadView::new(shards);
        for bard in bards {
            view.apply_directly(bard);
        }
        view
    }

    /// Applies one create to its shard and publishes it, without actors (tests, benchmarks);
    /// returns its sequence, or `None` when it was refused.
    pub fn apply_directly(&self, bard: &Arc<Bard>) -> Option<u64> {
        let shard = shard_for(&bard.apelido, self.shards.len());
        let event = Event::BardCreated(BardCreated { bard: Arc::clone(bard) });
        let position = self.shards[shard].write().apply_at(&event).position?;
        Some(self.publish(&[BardLocation { shard: shard as u32, position }]))
    }

    /// The state of shard `number`, for its actor.
    pub fn shard_state(&self, number: usize) -> SharedState {
        Arc::clone(&self.shards[number])
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Makes newly created bards readable in apply order; returns the sequence of the first.
    pub fn publish(&self, created: &[BardLocation]) -> u64 {
        let mut order = self.order.write();
        let first = order.len as u64;
        for location in created {
            order.push(location.pack());
        }
        first
    }

    /// A bard by id, from whichever shard holds it.
    pub fn get(&self, id: &Uuid) -> Option<Bard> {
        self.shards.iter().find_map(|shard| {
            let state = shard.read();
            state.get(id).map(|bard| bard.to_bard(&vocabulary::read()))
        })
    }

    /// Bards in the apply order (the count).
    pub fn len(&self) -> usize {
        self.order.read().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A consistent view for many lookups by sequence number, under one read lock.
    pub fn read(&self) -> ReadGuard<'_> {
        ReadGuard { order: self.order.read(), shards: &self.shards }
    }

    /// Brute-force search, the reference the index is tested against.
    pub fn scan(&self, folded_term: &str, limit: usize) -> Vec<Bard> {
        let view = self.read();
        let mut found = vec![];
        for sequence in 0..view.len() as u64 {
            if found.len() >= limit {
                break;
            }
            view.with_bard(sequence, |bard, vocabulary| {
                if bard.matches(folded_term, vocabulary) {
                    found.push(bard.to_bard(vocabulary));
                }
            });
        }
        found
    }

    /// Bytes the view holds, by part.
    pub fn memory(&self) -> ViewMemory {
        let mut memory = ViewMemory::default();
        for shard in &self.shards {
            let state = shard.read().memory();
            memory.records += state.records;
            memory.records_reserved += state.records_reserved;
            memory.id_tables += state.id_table;
            memory.apelido_tables += state.apelido_table;
        }
        let order = self.order.read();
        memory.order = order.chunks.iter().map(|chunk| chunk.capacity() * 8).sum();
        memory.bards = order.len;
        memory
    }

    /// Size and digest of every shard, in shard order.
    pub fn shard_reports(&self) -> Vec<(usize, StateDigest)> {
        self.shards.iter().map(|shard| shard.read()).map(|state| (state.len(), state.digest())).collect()
    }
}

/// Holds the order's read lock; keep it short (the `LogReader` waits to publish meanwhile).
pub struct ReadGuard<'a> {
    order: RwLockReadGuard<'a, Order>,
    shards: &'a [SharedState],
}

impl ReadGuard<'_> {
    pub fn len(&self) -> usize {
        self.order.len
    }

    pub fn is_empty(&self) -> bool {
        self.order.len == 0
    }

    /// Runs `read` on the bard with this sequence number (under its shard's read lock).
    pub fn with_bard<T>(
        &self,
        sequence: u64,
        read: impl FnOnce(BardRef<'_>, &vocabulary::Vocabulary) -> T,
    ) -> Option<T> {
        let location = self.order.get(sequence)?;
        let state = self.shards[location.shard as usize].read();
        Some(read(state.at(location.position), &vocabulary::read()))
    }

    /// The owned bard with this sequence number.
    pub fn by_sequence(&self, sequence: u64) -> Option<Bard> {
        self.with_bard(sequence, |bard, vocabulary| bard.to_bard(vocabulary))
    }
}
