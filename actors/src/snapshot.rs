//! Snapshots: the first N bards in apply order, with the log offset to resume from.
//!
//! The store is append-only, so a snapshot costs nothing to take: a [`SnapshotMark`] (offset,
//! count) names a frozen prefix of the state that is already in memory. It is encoded only
//! when someone asks for it, as a MessagePack stream, chunk by chunk: a header
//! `{version, next_offset, bards, index_documents, index_files}`, then the source's committed
//! search index file by file (`[name, bytes]`, see `search::shipping`), then one array
//! `[id, apelido, nome, nascimento, stack]` per bard. Loading replays the bards as `BardCreated` events through the same `apply`, so a
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
use crate::search::{IndexFiles, ShippedIndex};

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
    /// Documents `0..index_documents` of the search index come with the snapshot...
    #[serde(default)]
    pub index_documents: u64,
    /// ...in this many files, after the header.
    #[serde(default)]
    pub index_files: u32,
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

    fn header(&self, index: Option<&IndexFiles>) -> SnapshotHeader {
        SnapshotHeader {
            version: SNAPSHOT_VERSION,
            next_offset: self.next_offset,
            bards: self.bards,
            index_documents: index.map_or(0, |index| index.documents),
            index_files: index.map_or(0, |index| index.files.len() as u32),
        }
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
    #[error("the snapshot's index: {0}")]
    Index(String),
}

/// The MessagePack stream of a snapshot, one chunk at a time (header first).
pub struct SnapshotEncoder {
    view: Arc<ReadView>,
    mark: SnapshotMark,
    index: Option<IndexFiles>,
    stage: Stage,
}

/// Where the stream is: header, then index files, then bards from a sequence.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Header,
    IndexFile(usize),
    Bards(u64),
}

impl SnapshotEncoder {
    pub fn new(view: Arc<ReadView>, mark: SnapshotMark) -> SnapshotEncoder {
        SnapshotEncoder { view, mark, index: None, stage: Stage::Header }
    }

    /// Ships these index files too (a receiver then indexes only what they lack).
    pub fn with_index(mut self, index: IndexFiles) -> SnapshotEncoder {
        self.index = Some(index);
        self
    }

    /// What this snapshot holds.
    pub fn mark(&self) -> SnapshotMark {
        self.mark
    }
}

fn encode<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    rmp_serde::encode::write(out, value).expect("serializing owned data to a Vec cannot fail");
}

impl Iterator for SnapshotEncoder {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let mut out = vec![];
        match self.stage {
            Stage::Header => {
                let header = self.mark.header(self.index.as_ref());
                rmp_serde::encode::write_named(&mut out, &header).expect("to a Vec");
                self.stage = Stage::IndexFile(0);
            }
            Stage::IndexFile(number) => match self.index.as_ref().and_then(|index| index.files.get(number)) {
                Some((name, bytes)) => {
                    encode_index_file(name, bytes, &mut out);
                    self.stage = Stage::IndexFile(number + 1);
                }
                None => {
                    self.index = None; // shared file bytes: let them go as soon as sent
                    self.stage = Stage::Bards(0);
                    return self.next();
                }
            },
            Stage::Bards(from) => {
                let to = self.mark.bards.min(from + ENCODE_CHUNK_BARDS);
                (from < to).then_some(())?;
                let view = self.view.read();
                for sequence in from..to {
                    let bard = view.by_sequence(sequence).expect("a snapshot mark never passes the view");
                    encode(&bard, &mut out);
                }
                self.stage = Stage::Bards(to);
            }
        }
        Some(out)
    }
}

/// `[name, bytes]`.
fn encode_index_file(name: &str, bytes: &[u8], out: &mut Vec<u8>) {
    rmp::encode::write_array_len(out, 2).expect("to a Vec");
    rmp::encode::write_str(out, name).expect("to a Vec");
    rmp::encode::write_bin(out, bytes).expect("to a Vec");
}

/// Reads one `[name, bytes]` written by `encode_index_file`.
fn decode_index_file(reader: &mut impl Read) -> Result<(String, Vec<u8>), SnapshotError> {
    let bad = |what: &str| SnapshotError::Index(format!("a malformed index file entry ({what})"));
    let fields = rmp::decode::read_array_len(reader).map_err(|_| bad("not an array"))?;
    if fields != 2 {
        return Err(bad("not [name, bytes]"));
    }
    let name_len = rmp::decode::read_str_len(reader).map_err(|_| bad("no name"))?;
    let mut name = vec![0; name_len as usize];
    reader.read_exact(&mut name).map_err(|_| bad("the name is cut"))?;
    let len = rmp::decode::read_bin_len(reader).map_err(|_| bad("no bytes"))?;
    let mut bytes = vec![0; len as usize];
    reader.read_exact(&mut bytes).map_err(|_| bad("the bytes are cut"))?;
    Ok((String::from_utf8(name).map_err(|_| bad("the name is not UTF-8"))?, bytes))
}

/// The whole snapshot of `mark` in one buffer (tests, tools).
pub fn encode_snapshot(view: &Arc<ReadView>, mark: SnapshotMark) -> Vec<u8> {
    SnapshotEncoder::new(Arc::clone(view), mark).flatten().collect()
}

/// Reads a snapshot stream: the header at once, then the bards batch by batch.
pub struct SnapshotDecoder<R: Read> {
    decoder: rmp_serde::Deserializer<rmp_serde::decode::ReadReader<R>>,
    header: SnapshotHeader,
    /// Index files not yet read (nor skipped): they come before the bards.
    index_files_left: u32,
    read: u64,
}

impl<R: Read> SnapshotDecoder<R> {
    pub fn new(reader: R) -> Result<SnapshotDecoder<R>, SnapshotError> {
        let mut decoder = rmp_serde::Deserializer::new(reader);
        let header = SnapshotHeader::deserialize(&mut decoder)?;
        if header.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version(header.version));
        }
        Ok(SnapshotDecoder { decoder, header, index_files_left: header.index_files, read: 0 })
    }

    pub fn header(&self) -> SnapshotHeader {
        self.header
    }

    /// The index files that follow the header, into a fresh directory (one file in memory
    /// twice at a time, never the whole index). Call it before the first batch of bards.
    pub fn read_index(&mut self) -> Result<Option<ShippedIndex>, SnapshotError> {
        if self.index_files_left == 0 {
            return Ok(None);
        }
        let mut shipped = ShippedIndex::new(self.header.index_documents);
        while self.index_files_left > 0 {
            let (name, bytes) = self.next_index_file()?;
            shipped.add_file(&name, &bytes).map_err(|error| SnapshotError::Index(error.to_string()))?;
        }
        Ok(Some(shipped))
    }

    fn next_index_file(&mut self) -> Result<(String, Vec<u8>), SnapshotError> {
        self.index_files_left -= 1;
        decode_index_file(self.decoder.get_mut())
    }

    /// The next (up to) `max` bards as the events that created them; empty at the end.
    /// Index files not read by [`Self::read_index`] are skipped (a replay needs only state).
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<Event>, SnapshotError> {
        while self.index_files_left > 0 {
            self.next_index_file()?;
        }
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
    /// The source's search index, when it shipped one.
    pub index: Option<ShippedIndex>,
    batches: tokio::sync::mpsc::Receiver<Result<Vec<Event>, SnapshotError>>,
}

impl SnapshotFeed {
    /// Reads the header here (blocking: call it off the async threads), the bards on a new thread.
    pub fn start<R: Read + Send + 'static>(reader: R) -> Result<SnapshotFeed, SnapshotError> {
        let mut decoder = SnapshotDecoder::new(reader)?;
        let header = decoder.header();
        let index = decoder.read_index()?;
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
        Ok(SnapshotFeed { header, index, batches })
    }

    /// The next batch; an empty batch (or `None`) at the end.
    pub async fn next_batch(&mut self) -> Option<Result<Vec<Event>, SnapshotError>> {
        self.batches.recv().await
    }
}
