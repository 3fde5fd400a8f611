//! Creates whose append is uncertain (sent, never confirmed) are settled through the log, so a
//! 503 never hides a bard that is in fact stored (promise 2: count = 201s).

use std::sync::atomic::{AtomicU8, Ordering};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

use super::*;
use crate::log::{EmbeddedLog, LogEntry, Offset};
use crate::model::BirthDate;

const NO_FAULT: u8 = 0;
/// The next append is written, but reported as unconfirmed (the connection dropped after).
const WRITTEN_UNCONFIRMED: u8 = 1;
/// The next append is not written, and reported as unconfirmed.
const LOST_UNCONFIRMED: u8 = 2;

/// A real embedded log with a fault injected into its next append.
#[derive(Default)]
struct FaultyLog {
    log: EmbeddedLog,
    next_fault: AtomicU8,
}

impl EventLog for FaultyLog {
    fn append(&self, record: Bytes) -> BoxFuture<'_, Result<(), LogError>> {
        let unconfirmed = || Err(LogError::Unconfirmed("injected: connection dropped".into()));
        match self.next_fault.swap(NO_FAULT, Ordering::SeqCst) {
            WRITTEN_UNCONFIRMED => {
                Box::pin(async move { self.log.append(record).await.and_then(|()| unconfirmed()) })
            }
            LOST_UNCONFIRMED => Box::pin(async move { unconfirmed() }),
            _ => self.log.append(record),
        }
    }

    fn read_from(&self, first: Offset) -> BoxStream<'static, Result<Vec<LogEntry>, LogError>> {
        self.log.read_from(first)
    }

    fn end_offset(&self) -> BoxFuture<'_, Result<Offset, LogError>> {
        self.log.end_offset()
    }

    fn first_offset(&self) -> BoxFuture<'_, Result<Offset, LogError>> {
        self.log.first_offset()
    }

    fn describe(&self) -> String {
        "embedded log with injected append faults".into()
    }
}

fn new_bard(apelido: &str) -> NewBard {
    let nascimento = BirthDate::parse("1990-01-01").unwrap();
    NewBard { apelido: apelido.into(), nome: "Nome".into(), nascimento, stack: None }
}

async fn start(log: &Arc<FaultyLog>) -> Node {
    let config = NodeConfig { shards: 2, ..NodeConfig::default() };
    Node::start(Arc::clone(log) as Arc<dyn EventLog>, config, None).await.unwrap()
}

#[actix::test]
async fn an_unconfirmed_create_that_reached_the_log_is_a_201() {
    let log = Arc::new(FaultyLog::default());
    let node = start(&log).await;
    log.next_fault.store(WRITTEN_UNCONFIRMED, Ordering::SeqCst);
    let created = node.create(new_bard("ana")).await.expect("settled as created");
    assert_eq!(node.get(&created.id).await.unwrap().map(|bard| bard.id), Some(created.id));
    assert_eq!(node.count().await.unwrap(), 1);
    let again = node.create(new_bard("ana")).await;
    assert_eq!(again.unwrap_err(), NodeError::ApelidoTaken("ana".into()), "it holds its apelido");
}

#[actix::test]
async fn an_unconfirmed_create_that_never_reached_the_log_is_a_503() {
    let log = Arc::new(FaultyLog::default());
    let node = start(&log).await;
    log.next_fault.store(LOST_UNCONFIRMED, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let error = node.create(new_bard("bia")).await.unwrap_err();
    assert!(matches!(error, NodeError::LogUnavailable(LogError::Unconfirmed(_))), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "settled by a barrier, not the deadline");
    assert_eq!(node.count().await.unwrap(), 0);
    assert!(node.waiters.is_empty(), "no registration left behind");
    assert!(node.create(new_bard("bia")).await.is_ok(), "the apelido was never taken");
}
