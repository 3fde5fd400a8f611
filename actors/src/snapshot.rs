//! Snapshots: the first N bards in apply order, with the log offset to resume from.
//!
//! The store is append-only, so a snapshot costs nothing to take: a [`SnapshotMark`] (offset,
//! count) names a frozen prefix of the state that is already in memory. It is encoded only
//! when someone asks for it, as a MessagePack stream, chunk by chunk: a header
//! `{version, next_offset, bards}` then one array `[id, apelido, nome, nascimento, stack]` per
//! bard. Loading replays the bards as `BardCreated` events through the same `apply`, so a
//! snapshot can never hold a state the log could not produce, and the loader numbers them in
//! the same order as the source did.

use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::actors::LogProgress;
use crate::event::{BardCreated, Event};
use crate::log::Offset;
use crate::model::Bard;
use crate::read_view::ReadView;

/// The current snapshot format; a later one gets a new number and a converter.
pub const SNAPSHOT_VERSION: u32 = 2;
/// Bards encoded per chunk of the stream.
const ENCODE_CHUNK_BARDS: u64 = 4096;

/// What opens a snapshot stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    pub version: u32,
    /// Resume the log here. Every record before it is reflected in the bards; a few records at
    /// or after it may be too (taken while applying): re-applying them is a no-op (same ids).
    pub next_offset: Offset,
    pub bards: u64,
}

/// A consistent prefix of the state: the first `bards` in apply order, and where to resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotMark {
    pub next_offset: Offset,
    pub bards: u64,
}

impl SnapshotMark {
    /// The offset is read first, so it never runs ahead of the bards.
    pub fn capture(view: &ReadView, progress: &LogProgress) -> SnapshotMark {
        let next_offset = progress.next_offset.load(Ordering::Acquire);
        SnapshotMark { next_offset, bards: view.len() as u64 }
    }

    fn header(&self) -> SnapshotHeader {
        SnapshotHeader { version: SNAPSHOT_VERSION, next_offset: self.next_offset, bards: self.bards }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("undecodable snapshot: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error("snapshot format {0} is not supported (this build reads {SNAPSHOT_VERSION})")]
    Version(u32),
    #[error("the snapshot ended after {read} of its {promised} bards")]
    Truncated { read: u64, promised: u64 },
}

/// The MessagePack stream of a snapshot, one chunk at a time (header first).
pub struct SnapshotEncoder {
    view: Arc<ReadView>,
    mark: SnapshotMark,
    next: Option<u64>,
}

impl SnapshotEncoder {
    pub fn new(view: Arc<ReadView>, mark: SnapshotMark) -> SnapshotEncoder {
        SnapshotEncoder { view, mark, next: None }
    }
}

fn encode<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    rmp_serde::encode::write(out, value).expect("serializing owned data to a Vec cannot fail");
}

impl Iterator for SnapshotEncoder {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let mut out = vec![];
        let Some(from) = self.next else {
            self.next = Some(0);
            rmp_serde::encode::write_named(&mut out, &self.mark.header()).expect("to a Vec");
            return Some(out);
        };
        if from >= self.mark.bards {
            return None;
        }
        let to = self.mark.bards.min(from + ENCODE_CHUNK_BARDS);
        let view = self.view.read();
        for sequence in from..to {
            let bard = view.by_sequence(sequence).expect("a snapshot mark never passes the view");
            encode(&bard, &mut out);
        }
        self.next = Some(to);
        Some(out)
    }
}

/// The whole snapshot of `mark` in one buffer (tests, tools).
pub fn encode_snapshot(view: &Arc<ReadView>, mark: SnapshotMark) -> Vec<u8> {
    SnapshotEncoder::new(Arc::clone(view), mark).flatten().collect()
}

/// Reads a snapshot stream: the header at once, then the bards batch by batch.
pub struct SnapshotDecoder<R: Read> {
    decoder: rmp_serde::Deserializer<rmp_serde::decode::ReadReader<R>>,
    header: SnapshotHeader,
    read: u64,
}

impl<R: Read> SnapshotDecoder<R> {
    pub fn new(reader: R) -> Result<SnapshotDecoder<R>, SnapshotError> {
        let mut decoder = rmp_serde::Deserializer::new(reader);
        let header = SnapshotHeader::deserialize(&mut decoder)?;
        if header.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version(header.version));
        }
        Ok(SnapshotDecoder { decoder, header, read: 0 })
    }

    pub fn header(&self) -> SnapshotHeader {
        self.header
    }

    /// The next (up to) `max` bards as the events that created them; empty at the end.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<Event>, SnapshotError> {
        let take = (self.header.bards - self.read).min(max as u64);
        let mut events = Vec::with_capacity(take as usize);
        for _ in 0..take {
            let bard = Bard::deserialize(&mut self.decoder).map_err(|error| match error {
                rmp_serde::decode::Error::InvalidMarkerRead(_) => {
                    SnapshotError::Truncated { read: self.read, promised: self.header.bards }
                }
                other => other.into(),
            })?;
            self.read += 1;
            events.push(Event::BardCreated(BardCreated { bard: Arc::new(bard) }));
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests;

/// Batches decoded ahead of the loader.
const FEED_BATCHES_AHEAD: usize = 4;
/// Bards per batch handed to the loader (one apply batch each).
const FEED_BATCH_BARDS: usize = 8192;

/// A snapshot being decoded on a thread of its own, handed over in batches of events.
pub struct SnapshotFeed {
    pub header: SnapshotHeader,
    batches: tokio::sync::mpsc::Receiver<Result<Vec<Event>, SnapshotError>>,
}

impl SnapshotFeed {
    /// Reads the header here (blocking: call it off the async threads), the bards on a new thread.
    pub fn start<R: Read + Send + 'static>(reader: R) -> Result<SnapshotFeed, SnapshotError> {
        let mut decoder = SnapshotDecoder::new(reader)?;
        let header = decoder.header();
        let (sender, batches) = tokio::sync::mpsc::channel(FEED_BATCHES_AHEAD);
        std::thread::Builder::new()
            .name("snapshot-feed".into())
            .spawn(move || loop {
                let next = decoder.next_batch(FEED_BATCH_BARDS);
                let done = matches!(&next, Ok(events) if events.is_empty()) || next.is_err();
                if sender.blocking_send(next).is_err() || done {
                    return;
                }
            })
            .expect("spawning the snapshot reader thread");
        Ok(SnapshotFeed { header, batches })
    }

    /// The next batch; an empty batch (or `None`) at the end.
    pub async fn next_batch(&mut self) -> Option<Result<Vec<Event>, SnapshotError>> {
        self.batches.recv().await
    }
}
