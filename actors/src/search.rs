//! Substring search over an in-RAM tantivy index of character n-grams (1 to 3 characters).
//!
//! Every text is lowercased before indexing, and the term the same way, so each n-gram of the
//! term is an n-gram of any text that contains it. A term of up to 3 characters is itself one
//! indexed n-gram; a longer one requires every trigram it contains. Candidates are then
//! verified with an exact lowercase `contains`, which removes the false positives.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::tokenizer::{NgramTokenizer, TextAnalyzer};
use tantivy::{DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, TERMINATED};

use crate::model::{fold_case, Bard, FOLD_GROWTH, MAX_NOME_CHARS};
use crate::read_view::ReadView;

const TEXT_FIELD: &str = "text";
const SEQUENCE_FIELD: &str = "sequence";
const TOKENIZER: &str = "ngram_1_3";
/// The longest n-gram indexed; longer terms are searched by their trigrams.
const MAX_GRAM_CHARS: usize = 3;
/// One indexing thread: tantivy needs at least 15 MB of arena per thread.
const WRITER_MEMORY_BYTES: usize = 24_000_000;
/// The most results a search returns (SPEC).
pub const MAX_RESULTS: usize = 50;

#[derive(Debug, thiserror::Error)]
#[error("search index: {0}")]
pub struct SearchError(#[from] tantivy::TantivyError);

/// The write half: owned by the `SearchIndex` actor alone.
pub struct SearchWriter {
    writer: IndexWriter<TantivyDocument>,
    reader: IndexReader,
    text: tantivy::schema::Field,
    sequence: tantivy::schema::Field,
    uncommitted: usize,
}

/// The read half: cheap to clone, used by HTTP handlers.
#[derive(Clone)]
pub struct SearchReader {
    reader: IndexReader,
    text: tantivy::schema::Field,
}

/// Creates an empty in-RAM index and its two halves.
pub fn create_search_index() -> Result<(SearchWriter, SearchReader), SearchError> {
    let mut builder = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let text = builder.add_text_field(TEXT_FIELD, TextOptions::default().set_indexing_options(indexing));
    let sequence = builder.add_u64_field(SEQUENCE_FIELD, FAST);
    let index = Index::create_in_ram(builder.build());
    let ngrams = NgramTokenizer::new(1, MAX_GRAM_CHARS, false)?;
    index.tokenizers().register(TOKENIZER, TextAnalyzer::builder(ngrams).build());
    let writer = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
    let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
    let read_half = SearchReader { reader: reader.clone(), text };
    Ok((SearchWriter { writer, reader, text, sequence, uncommitted: 0 }, read_half))
}

impl SearchWriter {
    /// Queues a bard for indexing; it becomes searchable at the next `commit`.
    pub fn add(&mut self, sequence: u64, bard: &Bard) -> Result<(), SearchError> {
        let mut document = TantivyDocument::new();
        // Separate values of one field: n-grams never span two texts.
        for text in bard.searchable_texts() {
            document.add_text(self.text, fold_case(text));
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

impl SearchReader {
    /// Number of searchable documents.
    pub fn indexed(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Up to `limit` bards whose apelido, nome or a stack element contains `term`, ignoring case.
    pub fn search(&self, view: &ReadView, term: &str, limit: usize) -> Result<Vec<Arc<Bard>>, SearchError> {
        let term = fold_case(term);
        // No stored text is longer than a folded nome: a longer term cannot match anything.
        if term.is_empty() || term.chars().count() > MAX_NOME_CHARS * FOLD_GROWTH || limit == 0 {
            return Ok(vec![]);
        }
        let query = self.query_for(&term);
        let mut found = vec![];
        let bards = view.read();
        self.for_each_candidate(&*query, |sequence| {
            if let Some(bard) = bards.by_sequence(sequence).filter(|bard| bard.matches(&term)) {
                found.push(Arc::clone(bard));
            }
            if found.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        Ok(found)
    }

    fn query_for(&self, lowercase_term: &str) -> Box<dyn Query> {
        let chars: Vec<char> = lowercase_term.chars().collect();
        let grams: BTreeSet<String> = if chars.len() <= MAX_GRAM_CHARS {
            BTreeSet::from([lowercase_term.to_owned()])
        } else {
            chars.windows(MAX_GRAM_CHARS).map(|gram| gram.iter().collect()).collect()
        };
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
}

#[cfg(test)]
mod tests;
