//! Versioned events and the log record that carries them (MessagePack via rmp-serde).
//!
//! Event names carry their version (`BardCreated.v1`): a later shape gets a new variant and an
//! upcast, never an in-place change, so old logs keep decoding.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Bard;

/// Something that happened, in the past tense. The log is a sequence of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A create request passed validation; whether it wins its apelido is decided by `apply`.
    #[serde(rename = "BardCreated.v1")]
    BardCreated(BardCreated),
    /// A read asked to see everything acknowledged before it; carries no state change.
    #[serde(rename = "LogBarrier.v1")]
    LogBarrier(LogBarrier),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BardCreated {
    pub bard: Arc<Bard>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogBarrier {
    pub barrier: Uuid,
}

/// One log entry: every event that went out in one group commit, in order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogRecord {
    pub events: Vec<Event>,
}

#[derive(Serialize)]
struct LogRecordRef<'a> {
    events: &'a [Event],
}

/// A log entry that could not be decoded: a bug or a foreign writer, never ignored silently.
#[derive(Debug, thiserror::Error)]
#[error("undecodable log record: {0}")]
pub struct DecodeError(#[from] rmp_serde::decode::Error);

/// Encodes events as one record; field names are kept so fields can be added compatibly.
pub fn encode_record(events: &[Event]) -> Vec<u8> {
    rmp_serde::to_vec_named(&LogRecordRef { events }).expect("serializing owned data to a Vec cannot fail")
}

pub fn decode_record(bytes: &[u8]) -> Result<LogRecord, DecodeError> {
    Ok(rmp_serde::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BirthDate, NewBard};

    fn sample_bard() -> Arc<Bard> {
        let new = NewBard {
            apelido: "josé".into(),
            nome: "José Roberto".into(),
            nascimento: BirthDate::parse("2000-10-01").unwrap(),
            stack: Some(vec!["C#".into(), "Node".into()].into()),
        };
        Arc::new(new.into_bard(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)))
    }

    fn sample_events() -> Vec<Event> {
        vec![
            Event::BardCreated(BardCreated { bard: sample_bard() }),
            Event::LogBarrier(LogBarrier { barrier: Uuid::from_u128(7) }),
        ]
    }

    /// The v1 wire bytes, pinned: `{"events":[{"BardCreated.v1":{"bard":{...}}},
    /// {"LogBarrier.v1":{"barrier":<16 bytes>}}]}`. If this test fails, logs already written
    /// no longer decode: add a new versioned variant and an upcast instead.
    const PINNED_V1_HEX: &str = concat!(
        "81a66576656e74739281ae42617264437265617465642e763181a46261726485a26964c410",
        "0123456789abcdef0123456789abcdefa76170656c69646fa56a6f73c3a9a46e6f6d65ad4a",
        "6f73c3a920526f626572746faa6e617363696d656e746faa323030302d31302d3031a57374",
        "61636b92a24323a44e6f646581ad4c6f67426172726965722e763181a762617272696572c4",
        "1000000000000000000000000000000007",
    );

    fn pinned_bytes() -> Vec<u8> {
        (0..PINNED_V1_HEX.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&PINNED_V1_HEX[at..at + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn v1_bytes_are_pinned() {
        assert_eq!(decode_record(&pinned_bytes()).unwrap().events, sample_events());
        assert_eq!(encode_record(&sample_events()), pinned_bytes());
    }

    #[test]
    fn round_trip() {
        let events = vec![
            Event::BardCreated(BardCreated { bard: sample_bard() }),
            Event::LogBarrier(LogBarrier { barrier: Uuid::from_u128(7) }),
        ];
        let decoded = decode_record(&encode_record(&events)).unwrap();
        assert_eq!(decoded.events, events);
        let _ = PINNED_V1_HEX;
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_record(b"\xc1garbage").is_err());
        assert!(decode_record(b"").is_err());
    }
}
