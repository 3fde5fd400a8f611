//! An index shipped with a snapshot: the source's committed segments, file by file, so that a
//! new node opens them instead of indexing a million bards again (≈ 30 s of one core for 1 M).
//!
//! Every node numbers bards by the log's order of first creation, so document `n` of the
//! source's index is bard `n` of the receiver too, once it applied the snapshot and the tail:
//! the receiver indexes from the shipped index's document count on.

use std::collections::HashSet;
use std::path::Path;

use tantivy::directory::{Directory, OwnedBytes, RamDirectory};
use tantivy::index::{SegmentComponent, SegmentMeta};
use tantivy::Index;

use super::{open_halves, schema, BoundedMerges, SearchError, SearchReader, SearchWriter};

/// The parts of a segment a snapshot ships (no deletes: bards are never deleted).
const SHIPPED_COMPONENTS: [SegmentComponent; 6] = [
    SegmentComponent::Postings,
    SegmentComponent::Positions,
    SegmentComponent::FastFields,
    SegmentComponent::FieldNorms,
    SegmentComponent::Terms,
    SegmentComponent::Store,
];
/// Without these a segment cannot open: a missing one means a merge removed the segment while
/// its files were read, and the capture is taken again.
const REQUIRED_EXTENSIONS: [&str; 3] = ["idx", "term", "store"];
const META_FILE: &str = "meta.json";
/// Captures tried before giving up (each races the merges that end meanwhile).
const CAPTURE_ATTEMPTS: usize = 3;

/// A committed index as files: documents `0..documents`, `meta.json` among the files.
pub struct IndexFiles {
    pub documents: u64,
    pub files: Vec<(String, OwnedBytes)>,
}

impl IndexFiles {
    pub fn bytes(&self) -> usize {
        self.files.iter().map(|(_, bytes)| bytes.len()).sum()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the index changed under every capture (merges); ship none this time")]
struct IndexMoving;

impl SearchReader {
    /// The last committed state of the index, without copying (the files are shared).
    pub fn committed_files(&self) -> Result<IndexFiles, SearchError> {
        let index = self.reader.searcher().index().clone();
        for _ in 0..CAPTURE_ATTEMPTS {
            if let Some(files) = capture(&index, &self.files)? {
                return Ok(files);
            }
        }
        Err(SearchError(tantivy::TantivyError::InternalError(IndexMoving.to_string())))
    }
}

/// One capture of `index`'s committed segments, read from its raw `directory` (with their
/// footers, as a receiver's index opens them); `None` when a segment's files vanished while
/// being read.
fn capture(index: &Index, directory: &RamDirectory) -> Result<Option<IndexFiles>, SearchError> {
    let mut meta = index.load_metas()?;
    let segments: Vec<SegmentMeta> = meta.segments.clone();
    let mut files = vec![];
    for segment in &segments {
        for component in &SHIPPED_COMPONENTS {
            let path = segment.relative_path(component.clone());
            let Ok(file) = directory.open_read(&path) else {
                if REQUIRED_EXTENSIONS.contains(&component.to_string().as_str()) {
                    return Ok(None);
                }
                continue;
            };
            files.push((path.to_string_lossy().into_owned(), file.read_bytes()?));
        }
    }
    meta.segments = segments;
    let documents = meta.segments.iter().map(|segment| u64::from(segment.num_docs())).sum();
    let json = serde_json::to_vec(&meta)
        .map_err(|e| SearchError(tantivy::TantivyError::InternalError(e.to_string())))?;
    files.push((META_FILE.to_owned(), OwnedBytes::new(json)));
    Ok(Some(IndexFiles { documents, files }))
}

/// The receiving side: files go into a fresh in-RAM directory as they arrive.
pub struct ShippedIndex {
    directory: RamDirectory,
    pub documents: u64,
    names: HashSet<String>,
}

impl ShippedIndex {
    pub fn new(documents: u64) -> ShippedIndex {
        ShippedIndex { directory: RamDirectory::create(), documents, names: HashSet::new() }
    }

    /// Takes one file; names other than a segment file or `meta.json` are refused.
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), SearchError> {
        if !is_index_file_name(name) || !self.names.insert(name.to_owned()) {
            let reason = format!("a shipped index file named {name:?} (or twice)");
            return Err(SearchError(tantivy::TantivyError::InvalidArgument(reason)));
        }
        self.directory.atomic_write(Path::new(name), bytes)?;
        Ok(())
    }

    /// Opens the shipped index as this node's, to go on indexing from `documents`. An index of
    /// another schema (a source of another version) is refused: the receiver indexes instead.
    pub fn open(self) -> Result<(SearchWriter, SearchReader), SearchError> {
        let index = Index::open(self.directory.clone())?;
        let (expected, fields) = schema();
        if index.schema() != expected {
            let reason = "the shipped index has another schema (a source of another version)".to_owned();
            return Err(SearchError(tantivy::TantivyError::SchemaError(reason)));
        }
        open_halves(index, self.directory, fields, BoundedMerges::default())
    }
}

/// `meta.json`, or `<32 hex digits>.<extension>` of a shipped component.
fn is_index_file_name(name: &str) -> bool {
    if name == META_FILE {
        return true;
    }
    let Some((id, extension)) = name.split_once('.') else { return false };
    let extensions = SHIPPED_COMPONENTS.map(|c| c.to_string());
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && extensions.iter().any(|e| e == extension)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_segment_files_and_meta_are_taken() {
        assert!(is_index_file_name("meta.json"));
        assert!(is_index_file_name("0123456789abcdef0123456789abcdef.idx"));
        for bad in ["../etc/passwd", "0123456789abcdef0123456789abcdef.del", "x.idx", ".managed.json", ""] {
            assert!(!is_index_file_name(bad), "{bad}");
        }
    }
}
