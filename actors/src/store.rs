//! Compact storage of bards: what a million (or five) of them cost in RAM.
//!
//! A bard is kept as one encoded record in an append-only [`Arena`] of 1 MiB chunks, addressed
//! by a 4-byte [`Position`]; stack elements are 1-byte codes into a shared [`vocabulary`]. The
//! indexes over the records (by id, by apelido, the global apply order) hold positions, never
//! copies of a string. See `ops/bench/RESULTS.md` ("Memory per bard") for the measured effect.

mod arena;
mod codec;
pub mod vocabulary;

pub use arena::{Arena, ArenaMark, Position};
pub use codec::{encode_bard, BardRef, StackItems};
