//! Substring search over an in-RAM tantivy index of character trigrams, and of stack names.
//!
//! Apelido and nome (separate values, so no gram spans two) are case-folded and padded with two
//! end sentinels before they are cut into trigrams, so that every character of a text starts a
//! gram. A term of 3 characters or more is found by requiring every trigram it contains; a
//! shorter one is a prefix of some gram, and the grams with that prefix are read from the term
//! dictionary.
//!
//! Stack elements repeat: a few dozen technologies across millions of bards. A name of the
//! shared vocabulary is indexed whole, once per bard (one posting, not one per trigram), in a
//! field of its own; a search walks that field's few distinct terms and reads the postings of
//! every one that contains the term. Names past [`MAX_WHOLE_STACK_TERMS`] (hostile input) are
//! cut into trigrams like the texts, so the walk stays short. Every search takes both paths,
//! so a name indexed either way is found.
//!
//! Candidates are then verified against the stored record with an exact folded `contains`,
//! which removes the false positives.
//!
//! Measured (`examples/index_variants.rs`, 1 M tournament bards): trigrams alone take 120 index
//! bytes per bard against 194 for the 1–3-gram layout, and search as fast; whole stack names
//! bring it further down (ops/bench/RESULTS.md).

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
const STACK_FIELD: &str = "stack";
const SEQUENCE_FIELD: &str = "sequence";
/// Vocabulary codes below this are indexed as whole terms (bounds the term walk of a search).
pub const MAX_WHOLE_STACK_TERMS: u32 = 4096;
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
    fields: Fields,
    uncommitted: usize,
}

/// The schema's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fields {
    /// Trigrams of apelido, nome and stack names outside the vocabulary.
    text: Field,
    /// Whole folded stack names of the vocabulary.
    stack: Field,
    /// The bard's read-view number (a fast field).
    sequence: Field,
}

/// The read half: cheap to clone, used by HTTP handlers.
#[derive(Clone)]
pub struct SearchReader {
    reader: IndexReader,
    fields: Fields,
    /// The index's files as written, footers included (the index's own directory strips
    /// them on read): what a snapshot ships.
    files: RamDirectory,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let indexed_with = |tokenizer| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false);
        TextOptions::default().set_indexing_options(indexing)
    };
    let text = builder.add_text_field(TEXT_FIELD, indexed_with(TOKENIZER));
    let stack = builder.add_text_field(STACK_FIELD, indexed_with("raw"));
    let sequence = builder.add_u64_field(SEQUENCE_FIELD, FAST);
    (builder.build(), Fields { text, stack, sequence })
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
    let (schema, fields) = schema();
    let files = RamDirectory::create();
    let index = Index::builder().schema(schema).settings(settings()).open_or_create(files.clone())?;
    open_halves(index, files, fields, BoundedMerges::default())
}

fn open_halves(
    index: Index,
    files: RamDirectory,
    fields: Fields,
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
    let read_half = SearchReader { reader: reader.clone(), fields, files };
    Ok((SearchWriter { writer, reader, fields, uncommitted: 0 }, read_half))
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
        let Fields { text, stack, sequence: sequence_field } = self.fields;
        for value in [&*bard.apelido, &*bard.nome] {
            document.add_text(text, indexed_text(value));
        }
        for name in bard.stack.iter().flat_map(|names| names.iter()) {
            match crate::store::vocabulary::code_of(name) {
                Some(code) if code < MAX_WHOLE_STACK_TERMS => document.add_text(stack, fold_case(name)),
                _ => document.add_text(text, indexed_text(name)),
            }
        }
        document.add_u64(sequence_field, sequence);
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
        let (mut found, mut seen) = (vec![], HashSet::new());
        let mut verify = |sequence| {
            // A bard may come up through both paths, and through several grams or names.
            if !seen.insert(sequence) {
                return ControlFlow::Continue(());
            }
            if let Some(Some(bard)) = verified(&bards, sequence, &term) {
                found.push(bard);
            }
            if found.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        if self.for_each_stack_match(&term, &mut verify)?.is_continue() {
            if term.chars().count() < GRAM_CHARS {
                self.for_each_prefixed(&term, &mut verify)?;
            } else {
                self.for_each_candidate(&*self.query_for(&term), &mut verify)?;
            }
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
                let term = Term::from_field_text(self.fields.text, gram);
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

    /// A term shorter than a gram: the documents of every gram that starts with it, until
    /// `visit` says stop.
    fn for_each_prefixed(
        &self,
        folded_term: &str,
        visit: &mut impl FnMut(u64) -> ControlFlow<()>,
    ) -> Result<(), SearchError> {
        let (from, below) = prefix_range(folded_term);
        self.walk_segments(self.fields.text, (from, Some(below.as_slice())), |_| true, visit).map(drop)
    }

    /// Every whole stack name that contains the term: the documents of each.
    fn for_each_stack_match(
        &self,
        folded_term: &str,
        visit: &mut impl FnMut(u64) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, SearchError> {
        let needle = folded_term.as_bytes();
        let contains = |name: &[u8]| name.windows(needle.len()).any(|window| window == needle);
        self.walk_segments(self.fields.stack, (&[], None), contains, visit)
    }

    /// [`walk_terms`] over every segment, until `visit` says stop.
    fn walk_segments(
        &self,
        field: Field,
        range: (&[u8], Option<&[u8]>),
        wanted: impl Fn(&[u8]) -> bool,
        visit: &mut impl FnMut(u64) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, SearchError> {
        let searcher = self.reader.searcher();
        for segment in searcher.segment_readers() {
            if walk_terms(segment, field, range, &wanted, visit)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// The keys that start with `prefix`: from it to just below prefix + 0xFF (UTF-8 never
/// contains 0xFF).
fn prefix_range(prefix: &str) -> (&[u8], Vec<u8>) {
    let mut upper = prefix.as_bytes().to_vec();
    upper.push(0xFF);
    (prefix.as_bytes(), upper)
}

/// The documents of every term of `field` in `range` (from, below) that `wanted` accepts, as
/// sequence numbers, until `visit` says stop.
fn walk_terms(
    segment: &SegmentReader,
    field: Field,
    (from, below): (&[u8], Option<&[u8]>),
    wanted: impl Fn(&[u8]) -> bool,
    visit: &mut impl FnMut(u64) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, SearchError> {
    let sequences = segment.fast_fields().u64(SEQUENCE_FIELD)?;
    let inverted = segment.inverted_index(field)?;
    let range = inverted.terms().range().ge(from);
    let mut terms = match below {
        Some(below) => range.lt(below).into_stream()?,
        None => range.into_stream()?,
    };
    while terms.advance() {
        if !wanted(terms.key()) {
            continue;
        }
        let mut postings = inverted.read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)?;
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

/// The bard with this sequence if it really contains the term (`None` inside: it does not;
/// `None` outside: no such bard yet).
fn verified(bards: &ReadGuard<'_>, sequence: u64, folded_term: &str) -> Option<Option<Bard>> {
    bards.with_bard(sequence, |bard, vocabulary| {
        bard.matches(folded_term, vocabulary).then(|| bard.to_bard(vocabulary))
    })
}

#[cfg(test)]
mod tests;
