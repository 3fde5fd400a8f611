//! `AppState` (what every handler reaches) and `Identity` (who this process is). Near the
//! bottom of the HTTP modules: it knows only the node and the HTTP metrics' recorder, so
//! `status` and `metrics` use `Identity` without reaching back into the app.

use bardo_actors::Node;
use serde::Serialize;

use crate::http_metrics::HttpMetrics;

/// Who this process is, for `/status`, `/metrics` and logs.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub version: &'static str,
    pub git_commit: &'static str,
    pub build_profile: &'static str,
    pub instance: String,
    pub role: &'static str,
    pub site: String,
}

impl Identity {
    pub fn new(role: &'static str, instance: Option<String>, site: Option<String>) -> Self {
        Identity {
            version: env!("CARGO_PKG_VERSION"),
            git_commit: env!("BARDO_GIT_COMMIT"),
            build_profile: env!("BARDO_BUILD_PROFILE"),
            instance: instance.unwrap_or_else(host_name),
            role,
            site: site.unwrap_or_else(|| "unknown".into()),
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// What every handler can reach: the node, this process's identity, and the HTTP metrics the
/// middleware records.
pub struct AppState {
    pub node: Node,
    pub identity: Identity,
    pub http_metrics: HttpMetrics,
}

impl AppState {
    pub fn new(node: Node, identity: Identity) -> Self {
        AppState { node, identity, http_metrics: HttpMetrics::default() }
    }
}
