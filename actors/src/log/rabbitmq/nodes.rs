//! The broker's nodes: one RabbitMQ cluster reached through several AMQP URLs (one node per
//! site), listed in preference order. Each side of the log (publisher, reader, probes, beacons)
//! connects to the node that last worked for it and moves on to the next one when it fails;
//! the stream is one replicated queue, so every node serves the same records at the same
//! offsets.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// Longest a single node may take to connect (and declare) before the next one is tried: a
/// node behind a dropped route never refuses, it just never answers.
const NODE_OPEN_TIMEOUT: Duration = Duration::from_secs(3);

/// The AMQP URLs of one RabbitMQ cluster's nodes, the preferred (local site's) first; never empty.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrls(Vec<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerUrlsError {
    #[error("no AMQP URL given: expected one URL, or several separated by commas")]
    Empty,
}

impl BrokerUrls {
    /// One URL, or several separated by commas (spaces around them are ignored).
    pub fn parse(list: &str) -> Result<BrokerUrls, BrokerUrlsError> {
        let urls: Vec<String> =
            list.split(',').map(str::trim).filter(|url| !url.is_empty()).map(String::from).collect();
        if urls.is_empty() {
            return Err(BrokerUrlsError::Empty);
        }
        Ok(BrokerUrls(urls))
    }

    /// The URLs, preferred first.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true (a list is never empty); here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Node indexes in the order to try them: from `start` on, wrapping around, each once.
    pub fn in_turn(&self, start: usize) -> impl Iterator<Item = usize> {
        let count = self.0.len();
        (0..count).map(move |step| (start + step) % count)
    }

    /// The list without passwords, for logs and errors.
    pub fn redacted(&self) -> String {
        self.0.iter().map(|url| redact_url(url)).collect::<Vec<_>>().join(",")
    }
}

impl std::str::FromStr for BrokerUrls {
    type Err = BrokerUrlsError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        BrokerUrls::parse(list)
    }
}

/// Passwords stay out of `{:?}` (configurations are logged).
impl fmt::Debug for BrokerUrls {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "BrokerUrls({})", self.redacted())
    }
}

/// The URL without its password, for output and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// Which node one side of the log tries first. Moved on *before* each attempt and set back on
/// success, so an attempt abandoned midway (its future dropped by a caller's timeout) still
/// leaves the next node preferred.
#[derive(Debug)]
pub(super) struct PreferredNode {
    next: AtomicUsize,
    /// The node of the last successful connect (`usize::MAX` before the first).
    connected: AtomicUsize,
}

impl Default for PreferredNode {
    fn default() -> Self {
        PreferredNode { next: AtomicUsize::new(0), connected: AtomicUsize::new(usize::MAX) }
    }
}

impl PreferredNode {
    pub(super) fn get(&self) -> usize {
        self.next.load(Ordering::Relaxed)
    }

    /// After `failed` let the side down (a lost connection, a missing confirm): start past it.
    pub(super) fn move_past(&self, failed: usize, urls: &BrokerUrls) {
        self.next.store((failed + 1) % urls.len(), Ordering::Relaxed);
    }

    /// The outcome of a session (reading, relaying) on `node`: a failed one makes the next
    /// node preferred, so that the reconnect goes elsewhere.
    pub(super) fn after_session<T>(
        &self,
        node: usize,
        urls: &BrokerUrls,
        outcome: Result<T, LogError>,
    ) -> Result<T, LogError> {
        if outcome.is_err() {
            self.move_past(node, urls);
        }
        outcome
    }

    /// Records a successful connect to `node`; whether it is another node than the last one.
    fn connected_to(&self, node: usize) -> bool {
        self.next.store(node, Ordering::Relaxed);
        let previous = self.connected.swap(node, Ordering::Relaxed);
        previous != usize::MAX && previous != node
    }
}

/// Runs `attempt` on each node in turn, from the preferred one, until one succeeds: that
/// node's index and result. Fails (`Unavailable`) only once every node failed.
pub(super) async fn in_turn<'u, T, F, Fut>(
    urls: &'u BrokerUrls,
    preferred: &PreferredNode,
    side: &str,
    mut attempt: F,
) -> Result<(usize, T), LogError>
where
    F: FnMut(&'u str) -> Fut,
    Fut: Future<Output = Result<T, LogError>>,
{
    let mut failures = Vec::new();
    for node in urls.in_turn(preferred.get()) {
        preferred.move_past(node, urls);
        let url = &urls.as_slice()[node];
        let outcome = tokio::time::timeout(NODE_OPEN_TIMEOUT, attempt(url)).await.unwrap_or_else(|_| {
            Err(LogError::Unavailable(format!("no answer within {NODE_OPEN_TIMEOUT:?}")))
        });
        match outcome {
            Ok(value) => {
                if preferred.connected_to(node) || !failures.is_empty() {
                    tracing::info!(side, node = %redact_url(url), "connected to another broker node (failover)");
                }
                return Ok((node, value));
            }
            Err(LogError::Unavailable(why)) => failures.push(format!("{}: {why}", redact_url(url))),
            Err(error) => failures.push(format!("{}: {error}", redact_url(url))),
        }
    }
    Err(LogError::Unavailable(format!(
        "{side}: none of the {} broker node(s) tried answered ({})",
        urls.len(),
        failures.join("; ")
    )))
}

/// Closes a connection we gave up on without waiting for it: a cut-off node may never answer
/// the close.
pub(super) fn close_in_background(connection: Connection) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(NODE_OPEN_TIMEOUT, connection.close(200, "failing over".into())).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_url_parses_as_a_list_of_one() {
        let urls = BrokerUrls::parse("amqp://bardo:secret@127.0.0.1:5672/%2f").expect("one URL");
        assert_eq!(urls.as_slice(), ["amqp://bardo:secret@127.0.0.1:5672/%2f"]);
    }

    #[test]
    fn several_urls_are_split_on_commas_and_trimmed_in_order() {
        let urls =
            BrokerUrls::parse(" amqp://a:1@site-a/%2f , amqp://a:1@site-b/%2f,amqp://a:1@site-c/%2f ,")
                .expect("three URLs");
        assert_eq!(
            urls.as_slice(),
            ["amqp://a:1@site-a/%2f", "amqp://a:1@site-b/%2f", "amqp://a:1@site-c/%2f"]
        );
    }

    #[test]
    fn an_empty_list_is_refused() {
        assert_eq!(BrokerUrls::parse(""), Err(BrokerUrlsError::Empty));
        assert_eq!(BrokerUrls::parse(" , ,"), Err(BrokerUrlsError::Empty));
        assert!(BrokerUrlsError::Empty.to_string().contains("no AMQP URL"));
    }

    #[test]
    fn passwords_are_redacted_in_lists_and_debug_output() {
        assert_eq!(
            redact_url("amqp://bardo:secret@127.0.0.1:5672/%2f"),
            "amqp://bardo:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact_url("amqp://host/"), "amqp://host/");
        let urls = BrokerUrls::parse("amqp://u:secret@a/%2f,amqp://u:secret@b/%2f").expect("two URLs");
        assert_eq!(urls.redacted(), "amqp://u:***@a/%2f,amqp://u:***@b/%2f");
        assert!(!format!("{urls:?}").contains("secret"));
    }

    #[test]
    fn nodes_are_tried_from_the_preferred_one_wrapping_around() {
        let urls = BrokerUrls::parse("amqp://a,amqp://b,amqp://c").expect("three URLs");
        assert_eq!(urls.in_turn(0).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(urls.in_turn(2).collect::<Vec<_>>(), [2, 0, 1]);
    }

    #[test]
    fn a_failure_makes_the_next_node_preferred() {
        let urls = BrokerUrls::parse("amqp://a,amqp://b,amqp://c").expect("three URLs");
        let preferred = PreferredNode::default();
        assert_eq!(preferred.get(), 0);
        preferred.move_past(0, &urls);
        assert_eq!(preferred.get(), 1);
        preferred.move_past(2, &urls);
        assert_eq!(preferred.get(), 0, "wraps around");
        assert!(!preferred.connected_to(0), "the first connect is no failover");
        assert!(preferred.connected_to(1), "another node than last time is");
        assert_eq!(preferred.get(), 1, "the node that worked stays preferred");
    }

    #[test]
    fn only_a_failed_session_moves_past_its_node() {
        let urls = BrokerUrls::parse("amqp://a,amqp://b").expect("two URLs");
        let preferred = PreferredNode::default();
        assert_eq!(preferred.after_session(0, &urls, Ok(7)), Ok(7));
        assert_eq!(preferred.get(), 0, "a session that ended well keeps its node");
        let failed: Result<(), LogError> = Err(LogError::Unavailable("gone".into()));
        assert_eq!(preferred.after_session(0, &urls, failed.clone()), failed);
        assert_eq!(preferred.get(), 1, "a failed one moves past it");
    }

    #[tokio::test]
    async fn in_turn_goes_on_past_failing_nodes_and_remembers_the_one_that_worked() {
        let urls = BrokerUrls::parse("amqp://a,amqp://b,amqp://c").expect("three URLs");
        let preferred = PreferredNode::default();
        let mut tried = Vec::new();
        let (node, url) = in_turn(&urls, &preferred, "test", |url| {
            tried.push(url.to_string());
            let outcome = if url == "amqp://c" {
                Ok(url.to_string())
            } else {
                Err(LogError::Unavailable("down".into()))
            };
            async move { outcome }
        })
        .await
        .expect("the third node answers");
        assert_eq!((node, url.as_str()), (2, "amqp://c"));
        assert_eq!(tried, ["amqp://a", "amqp://b", "amqp://c"]);
        assert_eq!(preferred.get(), 2);
    }

    #[tokio::test]
    async fn in_turn_fails_naming_how_many_nodes_were_tried() {
        let urls = BrokerUrls::parse("amqp://a,amqp://b").expect("two URLs");
        let down = |_: &str| async { Err::<(), _>(LogError::Unavailable("refused".into())) };
        let error = in_turn(&urls, &PreferredNode::default(), "test", down).await.expect_err("all down");
        assert!(
            matches!(&error, LogError::Unavailable(message) if message.contains("none of the 2")),
            "{error}"
        );
    }
}
