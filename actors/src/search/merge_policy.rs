//! `BoundedMerges`: tantivy's merges, kept small enough for a fixed memory budget.
//!
//! A merge writes a new segment beside the ones it replaces, so it needs as much memory again as
//! its inputs until it ends; tantivy's default policy lets segments grow to 10 M documents, which
//! at ≈ 120 bytes per bard would want over a gigabyte at once. This policy merges groups of
//! similar small segments, and never makes a segment of more than `max_docs` documents: the
//! extra memory of any merge stays under `max_docs` bards' worth of index.

use tantivy::index::SegmentMeta;
use tantivy::indexer::{MergeCandidate, MergePolicy};

#[derive(Debug, Clone, Copy)]
pub struct BoundedMerges {
    /// No merge makes a larger segment.
    pub max_docs: u32,
    /// Segments merged at once (fewer, larger merges; more segments to search meanwhile).
    pub segments_per_merge: usize,
}

impl Default for BoundedMerges {
    fn default() -> Self {
        BoundedMerges { max_docs: 1_000_000, segments_per_merge: 8 }
    }
}

impl MergePolicy for BoundedMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let mut small: Vec<&SegmentMeta> =
            segments.iter().filter(|segment| segment.num_docs() < self.max_docs / 2).collect();
        small.sort_by_key(|segment| segment.num_docs());
        let mut candidates = vec![];
        let mut group: Vec<&SegmentMeta> = vec![];
        for segment in small {
            let docs: u32 = group.iter().map(|s| s.num_docs()).sum();
            // Similar sizes only: a segment 8x larger than the group's first starts a new group.
            let unlike = group.first().is_some_and(|first| segment.num_docs() > first.num_docs().max(1) * 8);
            if docs + segment.num_docs() > self.max_docs || unlike {
                group.clear();
            }
            group.push(segment);
            if group.len() == self.segments_per_merge {
                candidates.push(MergeCandidate(group.drain(..).map(|s| s.id()).collect()));
            }
        }
        candidates
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::index::SegmentId;
    use tantivy::Index;

    fn metas(sizes: &[u32]) -> Vec<SegmentMeta> {
        let index = Index::create_in_ram(tantivy::schema::Schema::builder().build());
        sizes.iter().map(|&docs| index.new_segment_meta(SegmentId::generate_random(), docs)).collect()
    }

    #[test]
    fn merges_never_exceed_the_bound_and_group_like_sizes() {
        let policy = BoundedMerges { max_docs: 1000, segments_per_merge: 4 };
        let segments = metas(&[100, 100, 100, 100, 100, 900, 600, 10, 10, 10, 10]);
        let candidates = policy.compute_merge_candidates(&segments);
        assert_eq!(candidates.len(), 2, "four 10s, four 100s; 600 and 900 are past half the bound");
        for MergeCandidate(ids) in candidates {
            let docs: u32 =
                ids.iter().map(|id| segments.iter().find(|s| s.id() == *id).unwrap().num_docs()).sum();
            assert!(docs <= 1000 && ids.len() == 4);
        }
    }
}
