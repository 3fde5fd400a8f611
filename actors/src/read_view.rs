//! The read side shared with HTTP handlers: bards by id and by apply sequence (the search
//! index stores the sequence number, not the bard). Written only by the `LogReader`, in log
//! order, after the shards decided; read by any thread.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use uuid::Uuid;

use crate::model::Bard;

#[derive(Default)]
pub struct ReadView {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<Uuid, Arc<Bard>>,
    by_sequence: Vec<Arc<Bard>>,
}

impl ReadView {
    /// Makes newly created bards readable; returns the sequence number of the first one.
    pub fn publish(&self, bards: &[Arc<Bard>]) -> u64 {
        let mut inner = self.inner.write();
        let first = inner.by_sequence.len() as u64;
        inner.by_id.reserve(bards.len());
        for bard in bards {
            inner.by_id.insert(bard.id, Arc::clone(bard));
            inner.by_sequence.push(Arc::clone(bard));
        }
        first
    }

    pub fn get(&self, id: &Uuid) -> Option<Arc<Bard>> {
        self.inner.read().by_id.get(id).cloned()
    }

    /// Every bard in apply order (pointers only: cheap even for a million).
    pub fn all(&self) -> Vec<Arc<Bard>> {
        self.inner.read().by_sequence.clone()
    }

    pub fn len(&self) -> usize {
        self.inner.read().by_sequence.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A consistent view for many lookups by sequence number, under one read lock.
    pub fn read(&self) -> ReadGuard<'_> {
        ReadGuard { inner: self.inner.read() }
    }

    /// Brute-force search, the reference the index is tested against.
    pub fn scan(&self, folded_term: &str, limit: usize) -> Vec<Arc<Bard>> {
        let inner = self.inner.read();
        let matching = inner.by_sequence.iter().filter(|bard| bard.matches(folded_term));
        matching.take(limit).cloned().collect()
    }
}

/// Holds the read lock; keep it short (the `LogReader` waits to publish meanwhile).
pub struct ReadGuard<'a> {
    inner: parking_lot::RwLockReadGuard<'a, Inner>,
}

impl ReadGuard<'_> {
    pub fn by_sequence(&self, sequence: u64) -> Option<&Arc<Bard>> {
        self.inner.by_sequence.get(sequence as usize)
    }
}
