//! Substring search over an in-RAM tantivy index of character trigrams.
//!
//! Every text (apelido, nome, each stack element: separate values, so no gram spans two) is
//! case-folded and padded with two end sentinels before it is cut into trigrams, so that every
//! character of the text starts a gram. A term of 3 characters or more is found by requiring
//! every trigram it contains; a shorter one is a prefix of some gram, and the grams with that
//! prefix are read from the term dictionary. Candidates are then verified against the stored
//! record with an exact folded `contains`, which removes the false positives.
//!
//! Measured (`examples/index_variants.rs`, 1 M tournament bards): trigrams alone take 120 index
//! bytes per bard against 194 for the 1–3-gram layout, and search as fast.

mod merge_policy;
mod shipping;

use std::collections::{BTreeSet, HashSet};
use std::ops::ControlFlow;

use tantivy::directory::RamDirectory;
use tantivy::index::SegmentReader;
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::store::Compressor;
use tantivy::tokenizer::{NgramTokenizer, TextAnalyzer};
use tantivy::{
    DocSet, Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyDocument, Term, TERMINATED,
};

pub use merge_policy::BoundedMerges;
pub use shipping::{IndexFiles, ShippedIndex};

use crate::model::{fold_case, Bard, FOLD_GROWTH, MAX_NOME_CHARS};
use crate::read_view::{ReadGuard, ReadView};

const TEXT_FIELD: &str = "text";
const SEQUENCE_FIELD: &str = "sequence";
const TOKENIZER: &str = "trigrams";
/// Characters per gram.
const GRAM_CHARS: usize = 3;
/// Appended to every text (twice): its last characters start grams too. Input may contain it;
/// that only adds candidates, which verification removes.
const SENTINEL: char = '\u{1}';
/// tantivy's minimum writer arena, for one indexing thread.
const WRITER_MEMORY_BYTES: usize = 15_000_000;
/// The most results a search returns (SPEC).
pub const MAX_RESULTS: usize = 50;

#[derive(Debug, thiserror::Error)]
#[error("search index: {0}")]
pub struct SearchError(#[from] tantivy::TantivyError);

impl From<std::io::Error> for SearchError {
    fn from(error: std::io::Error) -> Self {
        SearchError(error.into())
    }
}

/// The write half: owned by the `SearchIndex` actor alone.
pub struct SearchWriter {
    writer: IndexWriter<TantivyDocument>,
    reader: IndexReader,
    text: Field,
    sequence: Field,
    uncommitted: usize,
}

/// The read half: cheap to clone, used by HTTP handlers.
#[derive(Clone)]
pub struct SearchReader {
    reader: IndexReader,
    text: Field,
    /// The index's files as written, footers included (the index's own directory strips
    /// them on read): what a snapshot ships.
    files: RamDirectory,
}

fn schema() -> (Schema, Field, Field) {
    let mut builder = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let text = builder.add_text_field(TEXT_FIELD, TextOptions::default().set_indexing_options(indexing));
    let sequence = builder.add_u64_field(SEQUENCE_FIELD, FAST);
    (builder.build(), text, sequence)
}

/// Nothing is stored in tantivy's document store (records live in the shards): no compression
/// work and no compression thread for it.
fn settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::None,
        docstore_compress_dedicated_thread: false,
        ..IndexSettings::default()
    }
}

/// Creates an empty in-RAM index and its two halves.
pub fn create_search_index() -> Result<(SearchWriter, SearchReader), SearchError> {
    let (schema, text, sequence) = schema();
    let files = RamDirectory::create();
    let index = Index::builder().schema(schema).settings(settings()).open_or_create(files.clone())?;
    open_halves(index, files, text, sequence, BoundedMerges::default())
}

fn open_halves(
    index: Index,
    files: RamDirectory,
    text: Field,
    sequence: Field,
    merges: BoundedMerges,
) -> Result<(SearchWriter, SearchReader), SearchError> {
    let trigrams = NgramTokenizer::new(GRAM_CHARS, GRAM_CHARS, false)?;
    index.tokenizers().register(TOKENIZER, TextAnalyzer::builder(trigrams).build());
    // One indexing thread and one merge thread: they run beside HTTP in a small CPU quota.
    let options = IndexWriterOptions::builder()
        .memory_budget_per_thread(WRITER_MEMORY_BYTES)
        .num_worker_threads(1)
        .num_merge_threads(1)
        .build();
    let writer = index.writer_with_options(options)?;
    writer.set_merge_policy(Box::new(merges));
    let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
    let read_half = SearchReader { reader: reader.clone(), text, files };
    Ok((SearchWriter { writer, reader, text, sequence, uncommitted: 0 }, read_half))
}

/// A text as indexed: folded, with the end sentinels.
fn indexed_text(text: &str) -> String {
    let mut folded = fold_case(text);
    folded.extend([SENTINEL; GRAM_CHARS - 1]);
    folded
}

impl SearchWriter {
    /// Queues a bard for indexing; it becomes searchable at the next `commit`.
    pub fn add(&mut self, sequence: u64, bard: &Bard) -> Result<(), SearchError> {
        let mut document = TantivyDocument::new();
        for text in bard.searchable_texts() {
            document.add_text(self.text, indexed_text(text));
        }
        document.add_u64(self.sequence, sequence);
        self.writer.add_document(document)?;
        self.uncommitted += 1;
        Ok(())
    }

    /// Commits and reloads the reader when anything was added; returns how many documents.
    pub fn commit(&mut self) -> Result<usize, SearchError> {
        if self.uncommitted == 0 {
            // Background merges finish after their commit: reload so searches use the merged
            // segments instead of the many small ones (cheap when nothing changed).
            self.reader.reload()?;
            return Ok(0);
        }
        self.writer.commit()?;
        self.reader.reload()?;
        Ok(std::mem::take(&mut self.uncommitted))
    }
}

/// Bytes of the searchable index, by part (tantivy's own space accounting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndexMemory {
    pub segments: usize,
    pub documents: u64,
    pub postings: u64,
    pub term_dictionary: u64,
    pub fast_fields: u64,
    pub document_store: u64,
    /// The indexing arena, allocated once for the writer's life.
    pub writer_arena: u64,
}

impl IndexMemory {
    pub fn total(&self) -> u64 {
        self.postings + self.term_dictionary + self.fast_fields + self.document_store + self.writer_arena
    }
}

impl SearchReader {
    /// What the searchable segments take (segments being merged are not counted).
    pub fn memory(&self) -> Result<IndexMemory, SearchError> {
        let searcher = self.reader.searcher();
        let usage = searcher.space_usage()?;
        let mut memory = IndexMemory {
            segments: usage.segments().len(),
            documents: searcher.num_docs(),
            writer_arena: WRITER_MEMORY_BYTES as u64,
            ..IndexMemory::default()
        };
        for segment in usage.segments() {
            memory.postings += segment.postings().total().get_bytes();
            memory.term_dictionary += segment.termdict().total().get_bytes();
            memory.fast_fields += segment.fast_fields().total().get_bytes();
            memory.document_store += segment.store().total().get_bytes();
        }
        Ok(memory)
    }

    /// Number of searchable documents.
    pub fn indexed(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Up to `limit` bards whose apelido, nome or a stack element contains `term`, ignoring case.
    pub fn search(&self, view: &ReadView, term: &str, limit: usize) -> Result<Vec<Bard>, SearchError> {
        let term = fold_case(term);
        // No stored text is longer than a folded nome: a longer term cannot match anything.
        if term.is_empty() || term.chars().count() > MAX_NOME_CHARS * FOLD_GROWTH || limit == 0 {
            return Ok(vec![]);
        }
        let bards = view.read();
        let mut found = vec![];
        let mut verify = |sequence| {
            if let Some(Some(bard)) = verified(&bards, sequence, &term) {
                found.push(bard);
            }
            if found.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        if term.chars().count() < GRAM_CHARS {
            self.for_each_prefixed(&term, verify)?;
        } else {
            self.for_each_candidate(&*self.query_for(&term), &mut verify)?;
        }
        Ok(found)
    }

    /// Every distinct trigram of the term, all required.
    fn query_for(&self, folded_term: &str) -> Box<dyn Query> {
        let chars: Vec<char> = folded_term.chars().collect();
        let grams: BTreeSet<String> = chars.windows(GRAM_CHARS).map(|gram| gram.iter().collect()).collect();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = grams
            .iter()
            .map(|gram| {
                let term = Term::from_field_text(self.text, gram);
                let query: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                (Occur::Must, query)
            })
            .collect();
        match clauses.len() {
            1 => clauses.pop().expect("one clause").1,
            _ => Box::new(BooleanQuery::new(clauses)),
        }
    }

    /// Walks matching documents segment by segment, handing out sequence numbers, until told
    /// to stop; no scoring, no sorting (the SPEC allows any order).
    fn for_each_candidate(
        &self,
        query: &dyn Query,
        mut visit: impl FnMut(u64) -> ControlFlow<()>,
    ) -> Result<(), SearchError> {
        let searcher = self.reader.searcher();
        let weight = query.weight(EnableScoring::disabled_from_searcher(&searcher))?;
        for segment in searcher.segment_readers() {
            let sequences = segment.fast_fields().u64(SEQUENCE_FIELD)?;
            let mut scorer = weight.scorer(segment, 1.0)?;
            let mut doc = scorer.doc();
            while doc != TERMINATED {
                if let Some(sequence) = sequences.first(doc) {
                    if visit(sequence).is_break() {
                        return Ok(());
                    }
                }
                doc = scorer.advance();
            }
        }
        Ok(())
    }

    /// A term shorter than a gram: the documents of every gram that starts with it, each once.
    fn for_each_prefixed(
        &self,
        folded_term: &str,
        mut visit: impl FnMut(u64) -> ControlFlow<()>,
    ) -> Result<(), SearchError> {
        let searcher = self.reader.searcher();
        let mut seen = HashSet::new();
        for segment in searcher.segment_readers() {
            let flow = self.walk_prefix(segment, folded_term, &mut |sequence| {
                if seen.insert(sequence) {
                    visit(sequence)
                } else {
                    ControlFlow::Continue(())
                }
            })?;
            if flow.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn walk_prefix(
        &self,
        segment: &SegmentReader,
        prefix: &str,
        visit: &mut impl FnMut(u64) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, SearchError> {
        let sequences = segment.fast_fields().u64(SEQUENCE_FIELD)?;
        let inverted = segment.inverted_index(self.text)?;
        // UTF-8 never contains 0xFF: every key with this prefix sorts below prefix + 0xFF.
        let mut upper = prefix.as_bytes().to_vec();
        upper.push(0xFF);
        let mut grams = inverted.terms().range().ge(prefix.as_bytes()).lt(&upper).into_stream()?;
        while grams.advance() {
            let mut postings =
                inverted.read_postings_from_terminfo(grams.value(), IndexRecordOption::Basic)?;
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if let Some(sequence) = sequences.first(doc) {
                    if visit(sequence).is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                }
                doc = postings.advance();
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// The bard with this sequence if it really contains the term (`None` inside: it does not;
/// `None` outside: no such bard yet).
fn verified(bards: &ReadGuard<'_>, sequence: u64, folded_term: &str) -> Option<Option<Bard>> {
    bards.with_bard(sequence, |bard, vocabulary| {
        bard.matches(folded_term, vocabulary).then(|| bard.to_bard(vocabulary))
    })
}

#[cfg(test)]
mod tests;
