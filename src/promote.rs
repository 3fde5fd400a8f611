//! `bardo promote`: turn a replica into a serving node (site A is lost). Asks the node
//! (`POST /internal/promote`), waits until its `/status` reports `accepts_creates`, and prints
//! where it stands: bards, next offset, digest. Progress goes to stderr, the summary to stdout.

use std::io::ErrorKind as IoKind;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::cli::PromoteArgs;
use crate::status::PromotionAnswer;

/// Between two `/status` polls.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// Longest a connection may take, however long the overall timeout.
const CONNECT_WITHIN: Duration = Duration::from_secs(5);
/// Most of an error body repeated in a message.
const BODY_SHOWN: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    #[error("{url}: connection refused (is a bardo node listening there?)")]
    Refused { url: String },
    #[error("{url}: no answer within {timeout:?}")]
    TimedOut { url: String, timeout: Duration },
    #[error("{url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered HTTP {status}: {body}")]
    Refusal { url: String, status: u16, body: String },
    #[error("{url} answered something unexpected: {reason}")]
    Unreadable { url: String, reason: String },
    #[error("{node} does not report accepts_creates after {timeout:?}")]
    NotAccepting { node: String, timeout: Duration },
}

/// Where the promoted node stands, from its `/status` once it accepts creates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub node: String,
    /// Whether this run changed the node (false: it already took creates).
    pub promoted: bool,
    pub accepts_creates: bool,
    pub bards: u64,
    pub next_offset: u64,
    pub digest: String,
}

/// Entry point from `main`: promote, then print the summary (one JSON object with `--json`).
pub fn main(args: PromoteArgs) -> anyhow::Result<()> {
    let summary = run(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "{} accepts creates{}: {} bards, next offset {}, digest {}",
            summary.node,
            if summary.promoted { " (promoted now)" } else { " (already did)" },
            summary.bards,
            summary.next_offset,
            summary.digest
        );
    }
    Ok(())
}

/// Asks `args.node` to take creates and waits (up to `args.timeout`) until it says it does.
pub fn run(args: &PromoteArgs) -> Result<Summary, PromoteError> {
    let node = args.node.trim_end_matches('/').to_owned();
    let timeout = Duration::from_secs(args.timeout.max(1));
    let deadline = Instant::now() + timeout;
    let agent =
        ureq::AgentBuilder::new().timeout_connect(CONNECT_WITHIN.min(timeout)).timeout(timeout).build();
    let url = format!("{node}/internal/promote");
    eprintln!("promote: asking {node} to take creates");
    let answer: PromotionAnswer = read_json(&url, agent.post(&url).call(), timeout)
        .and_then(|body| serde_json::from_value(body).map_err(|e| unreadable(&url, e)))?;
    let how = if answer.promoted { "promoted now" } else { "already took creates" };
    eprintln!("promote: {node} {how} ({} bards, next offset {})", answer.bards, answer.next_offset);
    let status = wait_until_accepting(&agent, &node, deadline, timeout)?;
    let url = format!("{node}/status");
    Ok(Summary {
        promoted: answer.promoted,
        accepts_creates: true,
        bards: number(&url, &status["counts"]["bards"])?,
        next_offset: number(&url, &status["log"]["next_offset"])?,
        digest: status["digest"].as_str().ok_or_else(|| unreadable(&url, "no digest"))?.to_owned(),
        node,
    })
}

/// Polls `/status` until it reports `accepts_creates`; its last answer.
fn wait_until_accepting(
    agent: &ureq::Agent,
    node: &str,
    deadline: Instant,
    timeout: Duration,
) -> Result<Value, PromoteError> {
    let url = format!("{node}/status");
    loop {
        let status = read_json(&url, agent.get(&url).call(), timeout)?;
        if status["accepts_creates"].as_bool() == Some(true) {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            return Err(PromoteError::NotAccepting { node: node.to_owned(), timeout });
        }
        eprintln!("promote: waiting for {node} to report accepts_creates");
        std::thread::sleep(POLL_EVERY);
    }
}

/// The JSON body of a 2xx answer, or what went wrong, in words.
fn read_json(
    url: &str,
    called: Result<ureq::Response, ureq::Error>,
    timeout: Duration,
) -> Result<Value, PromoteError> {
    let response = match called {
        Ok(response) => response,
        Err(ureq::Error::Status(status, response)) => {
            let body = response.into_string().unwrap_or_default().chars().take(BODY_SHOWN).collect();
            return Err(PromoteError::Refusal { url: url.to_owned(), status, body });
        }
        Err(ureq::Error::Transport(transport)) => return Err(transport_error(url, &transport, timeout)),
    };
    let body = response.into_string().map_err(|e| unreadable(url, e))?;
    serde_json::from_str(&body).map_err(|e| unreadable(url, e))
}

/// Connection refused and timeouts get their own words; the rest is ureq's.
fn transport_error(url: &str, transport: &ureq::Transport, timeout: Duration) -> PromoteError {
    let io_kind = std::error::Error::source(transport)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    let url = url.to_owned();
    match io_kind {
        Some(IoKind::ConnectionRefused) => PromoteError::Refused { url },
        Some(IoKind::TimedOut | IoKind::WouldBlock) => PromoteError::TimedOut { url, timeout },
        _ => PromoteError::Unreachable { url, reason: transport.to_string() },
    }
}

fn number(url: &str, value: &Value) -> Result<u64, PromoteError> {
    value.as_u64().ok_or_else(|| unreadable(url, format!("expected a number, found {value}")))
}

fn unreadable(url: &str, reason: impl std::fmt::Display) -> PromoteError {
    PromoteError::Unreadable { url: url.to_owned(), reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(node: &str) -> PromoteArgs {
        PromoteArgs { node: node.into(), timeout: 2, json: false }
    }

    #[test]
    fn a_closed_port_is_reported_as_connection_refused() {
        let error = run(&args("http://127.0.0.1:1")).expect_err("nothing listens on port 1");
        assert!(matches!(error, PromoteError::Refused { .. }), "{error:?}");
        assert!(error.to_string().contains("connection refused"), "{error}");
    }

    #[test]
    fn a_non_2xx_answer_names_the_status_and_body() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("bound").port();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut stream, _) = listener.accept().expect("one request");
            let mut request = [0_u8; 1024];
            let _ = stream.read(&mut request);
            let body = "not here";
            let answer = format!("HTTP/1.1 404 Not Found\r\ncontent-length: {}\r\n\r\n{body}", body.len());
            stream.write_all(answer.as_bytes()).expect("answered");
        });
        let error = run(&args(&format!("http://127.0.0.1:{port}/"))).expect_err("a 404");
        server.join().expect("the server thread");
        assert!(matches!(&error, PromoteError::Refusal { status: 404, .. }), "{error:?}");
        assert!(error.to_string().contains("HTTP 404: not here"), "{error}");
    }
}
