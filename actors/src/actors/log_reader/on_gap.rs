//! What a node does when the log skips records it never applied ([`LogGap`]): its state can
//! no longer be complete, so it must not answer anything more. Either its actor system stops
//! with [`LOG_GAP_EXIT_CODE`] (a supervisor outside restarts it), or the process restarts
//! itself in place: the same binary, arguments and environment, the same pid (cgroups,
//! network namespace and pid files stay valid), so that it bootstraps from a snapshot that
//! covers the hole — without any supervisor, natively or in a container.

use std::os::unix::process::CommandExt;

use super::{LogGap, LOG_GAP_EXIT_CODE};

/// Restarts in place allowed in a row (counted in the environment, since memory does not
/// survive an exec): a log that keeps cutting ahead of every snapshot ends in an exit.
pub const MAX_RESTARTS_IN_PLACE: u32 = 5;
/// Restarts further apart than this are not "in a row".
const IN_A_ROW_SECONDS: u64 = 600;
/// The variable that carries `count:unix seconds of the last restart` across an exec.
pub const RESTARTS_VARIABLE: &str = "BARDO_LOG_GAP_RESTARTS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnLogGap {
    /// Stop the actor system with [`LOG_GAP_EXIT_CODE`] (tests, embedded use).
    #[default]
    StopSystem,
    /// Exec this binary again (the `bardo serve` and `bardo replica` processes).
    RestartProcess,
}

impl OnLogGap {
    pub fn act(self, gap: &LogGap) {
        match self {
            OnLogGap::StopSystem => actix::System::current().stop_with_code(LOG_GAP_EXIT_CODE),
            OnLogGap::RestartProcess => restart_in_place(gap),
        }
    }
}

/// Never returns: the process becomes a fresh copy of itself, or exits.
fn restart_in_place(gap: &LogGap) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let done = restarts_in_a_row(std::env::var(RESTARTS_VARIABLE).ok().as_deref(), now);
    if done >= MAX_RESTARTS_IN_PLACE {
        tracing::error!(%gap, restarts = done, "the log keeps moving past every snapshot; exiting");
        std::process::exit(LOG_GAP_EXIT_CODE);
    }
    let mut args = std::env::args_os();
    let program = args.next().unwrap_or_default();
    tracing::warn!(%gap, restart = done + 1, "restarting this process to bootstrap from a snapshot");
    // exec only returns on failure; sockets are close-on-exec, so the port is free for the copy.
    let error = std::process::Command::new("/proc/self/exe")
        .arg0(program)
        .args(args)
        .env(RESTARTS_VARIABLE, format!("{}:{now}", done + 1))
        .exec();
    tracing::error!(%error, "could not restart in place; exiting");
    std::process::exit(LOG_GAP_EXIT_CODE);
}

/// Restarts in a row before this one, from the variable's `count:last` (0 when absent,
/// malformed, or the last was long ago).
fn restarts_in_a_row(variable: Option<&str>, now: u64) -> u32 {
    let Some((count, last)) = variable.and_then(|value| value.split_once(':')) else { return 0 };
    match (count.parse::<u32>(), last.parse::<u64>()) {
        (Ok(count), Ok(last)) if now.saturating_sub(last) <= IN_A_ROW_SECONDS => count,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_count_in_a_row_only() {
        assert_eq!(restarts_in_a_row(None, 1_000), 0);
        assert_eq!(restarts_in_a_row(Some("3:900"), 1_000), 3);
        assert_eq!(restarts_in_a_row(Some("3:100"), 1_000), 0, "ten minutes later it starts over");
        assert_eq!(restarts_in_a_row(Some("garbage"), 1_000), 0);
        assert_eq!(restarts_in_a_row(Some("x:900"), 1_000), 0);
    }
}
