//! `--verify`: compare the replayed state with a running instance's `/status`.
//!
//! Meant for a quiescent log. The instance may still have applied records after the replay's
//! end, so the replay reads up to the instance's own `log.next_offset`, and on a mismatch it
//! asks again and reads the new tail before comparing, a few times.

use std::time::Duration;

use anyhow::Context as _;
use bardo_actors::log::{EventLog, Offset};
use serde_json::Value;

use super::engine::Replay;
use super::http::{self, HttpUrl};
use super::Patience;

/// Comparisons tried before calling it a mismatch; the pause lets a lagging instance catch up.
const ATTEMPTS: u32 = 5;
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// The fields of an instance's `/status` that verify compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub instance: Option<String>,
    pub digest: String,
    pub bards: u64,
    /// `log.next_offset`: every record before it is applied on the instance.
    pub next_offset: Option<Offset>,
}

impl InstanceStatus {
    pub fn from_json(status: &Value) -> anyhow::Result<InstanceStatus> {
        let digest =
            status["digest"].as_str().context("no string `digest` field: not a bardo /status document")?;
        let bards = status["counts"]["bards"]
            .as_u64()
            .context("no number `counts.bards` field: not a bardo /status document")?;
        Ok(InstanceStatus {
            instance: status["instance"].as_str().map(str::to_string),
            digest: digest.to_string(),
            bards,
            next_offset: status["log"]["next_offset"].as_u64(),
        })
    }
}

/// Where to ask, and how long to wait for an answer.
#[derive(Debug, Clone)]
pub struct Verifier {
    url: HttpUrl,
    shown: String,
    patience: Patience,
}

impl Verifier {
    pub fn new(url: &str, patience: Patience) -> anyhow::Result<Verifier> {
        Ok(Verifier { url: HttpUrl::parse(url)?, shown: url.to_string(), patience })
    }

    pub fn url(&self) -> &str {
        &self.shown
    }

    /// GETs `/status` (blocking I/O, so off the runtime's thread).
    pub async fn fetch(&self) -> anyhow::Result<InstanceStatus> {
        let (url, patience) = (self.url.clone(), self.patience);
        let get = move || http::get(&url, "/status", patience.connect, patience.answer);
        let (code, body) = tokio::task::spawn_blocking(get)
            .await
            .context("the HTTP client thread failed")?
            .with_context(|| format!("GET {}/status", self.shown.trim_end_matches('/')))?;
        anyhow::ensure!(code == 200, "GET {}/status answered {code}", self.shown);
        let json: Value = serde_json::from_str(&body).context("/status is not JSON")?;
        InstanceStatus::from_json(&json)
    }
}

/// The outcome of `--verify`.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub matched: bool,
    pub url: String,
    pub instance: InstanceStatus,
    pub replay_digest: String,
    pub replay_count: u64,
    pub replay_next_offset: Offset,
    pub attempts: u32,
    /// Why a mismatch may not be a real divergence (instance behind, no offset reported).
    pub note: Option<String>,
}

/// Compares, reading the tail up to the instance's offset first; retries a few times.
pub async fn verify(
    replay: &mut Replay,
    log: &dyn EventLog,
    verifier: &Verifier,
    first: InstanceStatus,
) -> anyhow::Result<Verdict> {
    let mut status = first;
    let mut attempt = 1;
    loop {
        if let Some(next) = status.next_offset.filter(|&next| next > replay.next_offset()) {
            ensure_reachable(log, next, verifier.patience.answer).await?;
            replay.read_until(log, next).await?;
        }
        let verdict = compare(replay, verifier, status, attempt);
        if verdict.matched || attempt >= ATTEMPTS {
            return Ok(verdict);
        }
        tracing::info!(attempt, "verify: mismatch; asking the instance again");
        tokio::time::sleep(RETRY_PAUSE).await;
        status = verifier.fetch().await?;
        attempt += 1;
    }
}

/// An instance ahead of the stream's end reads another stream or broker: say so rather than
/// wait for records that will never come.
pub async fn ensure_reachable(log: &dyn EventLog, next: Offset, timeout: Duration) -> anyhow::Result<()> {
    let end = super::probe_end(log, timeout).await?;
    anyhow::ensure!(
        next <= end,
        "the instance has applied up to offset {next} but {} ends at {end}: \
         is the instance reading another stream or broker?",
        log.describe()
    );
    Ok(())
}

fn compare(replay: &Replay, verifier: &Verifier, instance: InstanceStatus, attempts: u32) -> Verdict {
    let replay_digest = replay.state().digest().to_string();
    let replay_count = replay.state().len() as u64;
    let replay_next_offset = replay.next_offset();
    let matched = instance.digest == replay_digest && instance.bards == replay_count;
    let note = match instance.next_offset {
        _ if matched => None,
        _ if instance.digest == replay_digest => Some(
            "the digests agree but counts.bards differs: /status samples its read view after \
             its digest, so the log was probably not quiescent"
                .into(),
        ),
        None => Some("the instance reports no log.next_offset: offsets not compared".into()),
        Some(next) if next < replay_next_offset => Some(format!(
            "the instance is behind the replay (its next offset {next} < {replay_next_offset}): \
             it may still be catching up"
        )),
        Some(_) => None,
    };
    Verdict {
        matched,
        url: verifier.url().to_string(),
        instance,
        replay_digest,
        replay_count,
        replay_next_offset,
        attempts,
        note,
    }
}
