//! `Arena`: append-only bytes in 1 MiB chunks. Records never move (no reallocation copies a
//! large buffer, so growth never needs twice the memory) and are addressed by a 4-byte
//! position: chunk number in the high 12 bits, offset in the low 20.

/// Where a record starts in its arena.
pub type Position = u32;

const OFFSET_BITS: u32 = 20;
/// Bytes per chunk; a record longer than this gets a chunk of its own.
pub const CHUNK_BYTES: usize = 1 << OFFSET_BITS;
/// Chunks one arena can address: 4096 × 1 MiB = 4 GiB.
pub const MAX_CHUNKS: usize = 1 << (32 - OFFSET_BITS);

#[derive(Default)]
pub struct Arena {
    chunks: Vec<Vec<u8>>,
}

/// The end of an arena at some moment, to roll back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArenaMark {
    chunks: usize,
    last_chunk_len: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("the arena is full ({MAX_CHUNKS} chunks of {CHUNK_BYTES} bytes)")]
pub struct ArenaFull;

impl Arena {
    /// Appends one record and returns where it starts.
    pub fn push(&mut self, record: &[u8]) -> Result<Position, ArenaFull> {
        let fits = self.chunks.last().is_some_and(|chunk| chunk.len() + record.len() <= CHUNK_BYTES);
        if !fits {
            if self.chunks.len() >= MAX_CHUNKS {
                return Err(ArenaFull);
            }
            self.chunks.push(Vec::with_capacity(CHUNK_BYTES.max(record.len())));
        }
        let number = self.chunks.len() - 1;
        let chunk = &mut self.chunks[number];
        let offset = chunk.len();
        chunk.extend_from_slice(record);
        Ok(((number as u32) << OFFSET_BITS) | offset as u32)
    }

    /// The bytes from `position` to the end of its chunk (a record decodes its own length).
    pub fn bytes_from(&self, position: Position) -> &[u8] {
        let chunk = &self.chunks[(position >> OFFSET_BITS) as usize];
        &chunk[(position as usize) & (CHUNK_BYTES - 1)..]
    }

    pub fn mark(&self) -> ArenaMark {
        ArenaMark { chunks: self.chunks.len(), last_chunk_len: self.chunks.last().map_or(0, Vec::len) }
    }

    /// Whether a record at `position` was appended before `mark` was taken.
    pub fn is_before(position: Position, mark: ArenaMark) -> bool {
        let chunk = (position >> OFFSET_BITS) as usize;
        let offset = (position as usize) & (CHUNK_BYTES - 1);
        chunk + 1 < mark.chunks || (chunk + 1 == mark.chunks && offset < mark.last_chunk_len)
    }

    /// Forgets everything appended after `mark`.
    pub fn truncate(&mut self, mark: ArenaMark) {
        self.chunks.truncate(mark.chunks);
        if let Some(last) = self.chunks.last_mut() {
            last.truncate(mark.last_chunk_len);
        }
    }

    /// Every chunk's bytes, in order (records never span two chunks).
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks.iter().map(Vec::as_slice)
    }

    /// Position of the record starting at `offset` of chunk `number`.
    pub fn position(number: usize, offset: usize) -> Position {
        ((number as u32) << OFFSET_BITS) | offset as u32
    }

    /// Bytes used and bytes reserved (the last chunk's unused tail).
    pub fn bytes(&self) -> (usize, usize) {
        let used = self.chunks.iter().map(Vec::len).sum();
        let reserved = self.chunks.iter().map(Vec::capacity).sum();
        (used, reserved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_position_and_rollback_forgets_the_tail() {
        let mut arena = Arena::default();
        let first = arena.push(b"abc").unwrap();
        let mark = arena.mark();
        let second = arena.push(&vec![7u8; CHUNK_BYTES - 1]).unwrap();
        let third = arena.push(b"xyz").unwrap();
        assert_eq!(&arena.bytes_from(first)[..3], b"abc");
        assert_eq!(second >> OFFSET_BITS, 1, "did not fit: a new chunk");
        assert_eq!(arena.bytes_from(third), b"xyz");
        assert!(Arena::is_before(first, mark) && !Arena::is_before(second, mark));
        arena.truncate(mark);
        assert_eq!(arena.mark(), mark);
        assert_eq!(arena.bytes_from(first), b"abc");
    }

    #[test]
    fn an_oversized_record_gets_its_own_chunk() {
        let mut arena = Arena::default();
        arena.push(b"a").unwrap();
        let big = arena.push(&vec![1u8; CHUNK_BYTES + 10]).unwrap();
        let after = arena.push(b"b").unwrap();
        assert_eq!(arena.bytes_from(big).len(), CHUNK_BYTES + 10);
        assert_eq!(after >> OFFSET_BITS, 2);
    }
}
