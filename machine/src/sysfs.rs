//! Small readers for sysfs/procfs files under a configurable root.
//!
//! Every reader returns a `ReadError` that names the file, so the reason
//! ends up verbatim in `Fact::Unavailable`.

use std::fmt::Display;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path} does not exist")]
    Missing { path: String },
    #[error("permission denied reading {path}")]
    PermissionDenied { path: String },
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("cannot parse {text:?} in {path}: {problem}")]
    Parse { path: String, text: String, problem: String },
}

/// `<root>/<absolute>`: `under("/tmp/fx", "/sys/class")` is `/tmp/fx/sys/class`.
pub fn under(root: &Path, absolute: &str) -> PathBuf {
    root.join(absolute.trim_start_matches('/'))
}

/// Reads a whole file and trims surrounding whitespace (sysfs adds a newline).
pub fn read_trimmed(path: &Path) -> Result<String, ReadError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().to_string()),
        Err(error) => Err(classify(path, error)),
    }
}

/// Reads and parses a one-number file such as `temp` or `energy_uj`.
pub fn read_number<T>(path: &Path) -> Result<T, ReadError>
where
    T: FromStr,
    T::Err: Display,
{
    let text = read_trimmed(path)?;
    text.parse::<T>().map_err(|error| ReadError::Parse {
        path: path.display().to_string(),
        text,
        problem: error.to_string(),
    })
}

/// For marker files: anything unreadable simply is not a marker.
pub fn read_marker(path: &Path) -> Option<String> {
    read_trimmed(path).ok().filter(|text| !text.is_empty())
}

fn classify(path: &Path, error: io::Error) -> ReadError {
    let path = path.display().to_string();
    match error.kind() {
        io::ErrorKind::NotFound => ReadError::Missing { path },
        io::ErrorKind::PermissionDenied => ReadError::PermissionDenied { path },
        _ => ReadError::Io { path, source: error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_joins_absolute_paths_below_the_root() {
        assert_eq!(under(Path::new("/tmp/fx"), "/sys/class/dmi"), PathBuf::from("/tmp/fx/sys/class/dmi"));
        assert_eq!(under(Path::new("/"), "/proc"), PathBuf::from("/proc"));
    }

    #[test]
    fn missing_file_names_the_path() {
        let error = read_trimmed(Path::new("/nonexistent/bardo/file")).unwrap_err();
        assert!(matches!(error, ReadError::Missing { .. }));
        assert_eq!(error.to_string(), "/nonexistent/bardo/file does not exist");
    }

    #[test]
    fn unparsable_number_says_what_was_read() {
        let error = read_number::<u64>(Path::new("/proc/self/comm")).unwrap_err();
        assert!(matches!(error, ReadError::Parse { .. }), "{error}");
    }
}
