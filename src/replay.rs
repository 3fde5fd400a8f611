//! `bardo replay`: rebuild the state from the event log with the same `State::apply` that
//! `serve` uses, print count, last offset and digest, and optionally verify them against a
//! running instance (`--verify`) or copy the log into an empty stream (`--republish`).
//!
//! The log's reader never finishes (it waits for new records), so a replay reads up to the end
//! offset probed when it starts (or the instance's own offset when verifying) and stops there.

mod engine;
mod http;
mod progress;
mod report;
mod republish;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bardo_actors::log::{BrokerUrls, EventLog, Offset, RabbitMqLog, StreamAddress};
use bardo_actors::snapshot::SnapshotDecoder;
use tracing_subscriber::EnvFilter;

pub use engine::{replay_log, Replay, ReplayStats, DEFAULT_STALL_TIMEOUT};
pub use progress::Progress;
pub use report::{Report, Republished};
pub use republish::Republisher;
pub use verify::{verify, InstanceStatus, Verdict, Verifier};

use crate::cli::ReplayArgs;

/// How long to wait for a connection, and for an answer once connected. The two differ: an
/// end probe on a busy stream reads up to a few thousand records, and an instance's /status
/// under load can take seconds, while a dead address should fail in a few seconds.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub connect: Duration,
    pub answer: Duration,
}

impl Patience {
    fn of(args: &ReplayArgs) -> Patience {
        Patience {
            connect: Duration::from_secs(args.connect_timeout.max(1)),
            answer: Duration::from_secs(args.stall_timeout.max(1)),
        }
    }
}

/// Entry point from `main`: its own runtime, and logs on stderr so that stdout (and `--json`)
/// stays clean. Quieter than `serve` by default (`warn`): the progress line says the rest.
pub fn main(args: ReplayArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let subscriber = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).finish();
    tracing::subscriber::with_default(subscriber, || runtime.block_on(run(args)))
}

/// The whole command: connect, probe, replay, republish, verify, report.
pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let url = args.amqp_url.as_deref().context(
        "replay reads a RabbitMQ stream: set --amqp-url or BARDO_AMQP_URL \
         (the embedded log of a standalone `serve` lives and dies with that process)",
    )?;
    let patience = Patience::of(&args);
    let verifier =
        args.verify.as_deref().map(|verify_url| Verifier::new(verify_url, patience)).transpose()?;
    // Ask the instance first: its offset is then at most the end probed next.
    let instance = match &verifier {
        Some(verifier) => Some(verifier.fetch().await?),
        None => None,
    };
    let log = open_log(url, &args.stream, patience.connect).await?;
    let probed_end = probe_end(&*log, patience.answer).await?;
    let retained_from = probe_first(&*log, patience.answer).await?;
    let end = replay_end(probed_end, instance.as_ref(), args.republish.is_some(), &*log)?;
    let mut replay = start_replay(&args, url, patience).await?;
    if let Some(snapshot) = open_snapshot(&args, patience)? {
        replay.load_snapshot(snapshot).await?;
        anyhow::ensure!(
            crate::serve::covers(replay.next_offset(), retained_from),
            "the snapshot resumes at offset {} but the retained log starts at {retained_from}: \
             records {}..{retained_from} are gone; use a newer snapshot",
            replay.next_offset(),
            replay.next_offset()
        );
    }
    replay.read_until(&*log, end).await?;
    let republished = finish_republish(&mut replay, patience.answer).await?;
    let verdict = match (verifier, instance) {
        (Some(verifier), Some(first)) => Some(verify(&mut replay, &*log, &verifier, first).await?),
        _ => None,
    };
    let source = format!("{} at {}", log.describe(), redact(url));
    let outcome = finish(&args, &replay, (source, retained_from, probed_end), verdict, republished);
    // Freeing a million bards one by one takes a noticeable part of a second, and the
    // process ends right after: let the OS take the memory back instead.
    std::mem::forget(replay);
    outcome
}

/// Prints the report; a verify mismatch becomes the command's error (non-zero exit).
fn finish(
    args: &ReplayArgs,
    replay: &Replay,
    (source, retained_from, probed_end): (String, Offset, Offset),
    verdict: Option<Verdict>,
    republished: Option<Republished>,
) -> anyhow::Result<()> {
    let report = Report {
        source,
        replay,
        retained_from,
        probed_end,
        verdict: verdict.as_ref(),
        republished: republished.as_ref(),
    };
    report.print(args.json);
    match verdict {
        Some(verdict) if !verdict.matched => anyhow::bail!(
            "verify: MISMATCH with {}: instance digest {} ({} bards), replay digest {} ({} bards)",
            verdict.url,
            verdict.instance.digest,
            verdict.instance.bards,
            verdict.replay_digest,
            verdict.replay_count
        ),
        _ => Ok(()),
    }
}

/// A fresh replay with progress on stderr and, with `--republish`, its checked-empty target.
async fn start_replay(args: &ReplayArgs, url: &str, patience: Patience) -> anyhow::Result<Replay> {
    let label = if args.republish.is_some() { "replay+republish" } else { "replay" };
    let mut replay = Replay::new().with_stall_timeout(patience.answer).with_progress(Progress::new(label));
    if let Some(target_url) = &args.republish {
        let stream = args.republish_stream.as_deref().unwrap_or(&args.stream);
        anyhow::ensure!(
            !(target_url == url && stream == args.stream),
            "--republish names the source stream itself; republish into another stream or broker"
        );
        let target = open_log(target_url, stream, patience.connect).await?;
        let republisher = Republisher::open(target, patience.answer).await?;
        replay = replay.with_republisher(republisher);
    }
    Ok(replay)
}

async fn finish_republish(replay: &mut Replay, timeout: Duration) -> anyhow::Result<Option<Republished>> {
    let Some(republisher) = replay.take_republisher() else {
        return Ok(None);
    };
    let target_end_offset = republisher.target_end(timeout).await?;
    Ok(Some(Republished {
        target: republisher.describe(),
        written: republisher.written(),
        target_end_offset,
    }))
}

/// Where the replay stops: the probed end, or the instance's offset when verifying (compare
/// like with like); a republish still copies everything up to the probed end.
fn replay_end(
    probed_end: Offset,
    instance: Option<&InstanceStatus>,
    republish: bool,
    log: &dyn EventLog,
) -> anyhow::Result<Offset> {
    let Some(next) = instance.and_then(|status| status.next_offset) else {
        return Ok(probed_end);
    };
    anyhow::ensure!(
        next <= probed_end,
        "the instance has applied up to offset {next} but {} ends at {probed_end}: \
         is the instance reading another stream or broker?",
        log.describe()
    );
    Ok(if republish { probed_end } else { next })
}

/// Connects (declaring the stream) within `timeout` per node of `url` (one URL, or several
/// separated by commas): an unreachable broker is an error in seconds, not a hang.
pub async fn open_log(url: &str, stream: &str, timeout: Duration) -> anyhow::Result<Arc<RabbitMqLog>> {
    let urls = BrokerUrls::parse(url)?;
    let timeout = timeout * u32::try_from(urls.len()).unwrap_or(u32::MAX);
    let shown = urls.redacted();
    let address = StreamAddress {
        urls,
        stream: stream.to_string(),
        retention: Default::default(),
        initial_replicas: None,
    };
    tokio::time::timeout(timeout, RabbitMqLog::connect(address))
        .await
        .map_err(|_| anyhow::anyhow!("the broker at {shown} did not answer within {timeout:?}"))?
        .with_context(|| format!("connecting to stream {stream:?} at {shown}"))
}

/// The stream's end offset (0 when empty), within `timeout`.
pub async fn probe_end(log: &dyn EventLog, timeout: Duration) -> anyhow::Result<Offset> {
    tokio::time::timeout(timeout, log.end_offset())
        .await
        .map_err(|_| anyhow::anyhow!("probing the end of {} timed out after {timeout:?}", log.describe()))?
        .with_context(|| format!("probing the end of {}", log.describe()))
}

/// Where the retained log starts (above 0 once retention removed its head), within `timeout`.
pub async fn probe_first(log: &dyn EventLog, timeout: Duration) -> anyhow::Result<Offset> {
    tokio::time::timeout(timeout, log.first_offset())
        .await
        .map_err(|_| anyhow::anyhow!("probing the start of {} timed out after {timeout:?}", log.describe()))?
        .with_context(|| format!("probing where {} starts", log.describe()))
}

/// The snapshot to start from, if one was given (a file, or an instance's URL).
fn open_snapshot(
    args: &ReplayArgs,
    patience: Patience,
) -> anyhow::Result<Option<SnapshotDecoder<Box<dyn std::io::Read + Send>>>> {
    let reader: Box<dyn std::io::Read + Send> = match (&args.snapshot, &args.snapshot_url) {
        (Some(path), _) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening the snapshot {}", path.display()))?,
        )),
        (None, Some(url)) => {
            let agent = ureq::AgentBuilder::new()
                .timeout_connect(patience.connect)
                .timeout_read(patience.answer)
                .build();
            let response = agent.get(url).call().with_context(|| format!("fetching the snapshot {url}"))?;
            Box::new(response.into_reader())
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(SnapshotDecoder::new(reader).context("reading the snapshot's header")?))
}

/// The URL (or comma-separated URLs) without passwords, for output and errors.
pub fn redact(url: &str) -> String {
    url.split(',').map(bardo_actors::log::redact_url).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("amqp://bardo:secret@127.0.0.1:5672/%2f"),
            "amqp://bardo:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(super::redact("amqp://host/"), "amqp://host/");
        assert_eq!(super::redact("amqp://u:a@h1/,amqp://u:b@h2/"), "amqp://u:***@h1/,amqp://u:***@h2/");
    }
}
