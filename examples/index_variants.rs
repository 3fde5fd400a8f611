//! Which tantivy index layout answers every search exactly for the fewest bytes per bard:
//! builds one index per variant over the same bards and prints bytes per bard by file kind,
//! segments, build time and search latency over the tournament terms (results checked
//! against a brute-force scan on a sample).
//!
//! ```text
//! nice -n 5 cargo run --release --example index_variants -- 1000000 g13 g23 g33
//! ```
//!
//! Variants: `g13` n-grams of 1 to 3 characters (the layout before issue 10), `g23` 2 and 3
//! with one end sentinel (a 1-character term is a prefix of some bigram), `g33` trigrams only
//! with two end sentinels (1- and 2-character terms are prefixes of some trigram).
//! Environment: `COMMIT_EVERY` (documents per commit, default 2000), `MAX_SEGMENT_DOCS`
//! (no merge makes a larger segment, default 0 = tantivy's log merge policy).

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use tantivy::indexer::{LogMergePolicy, MergeCandidate, MergePolicy};
use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::tokenizer::{NgramTokenizer, TextAnalyzer};
use tantivy::{DocSet, Index, IndexReader, ReloadPolicy, SegmentMeta, TantivyDocument, Term, TERMINATED};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code)]
#[path = "bench_data.rs"]
mod bench_data;

const SENTINEL: char = '\u{1}';
const LIMIT: usize = 50;

#[derive(Clone, Copy, Debug)]
struct Variant {
    name: &'static str,
    min_gram: usize,
    max_gram: usize,
}

impl Variant {
    fn named(name: &str) -> Variant {
        match name {
            "g13" => Variant { name: "g13", min_gram: 1, max_gram: 3 },
            "g23" => Variant { name: "g23", min_gram: 2, max_gram: 3 },
            "g33" => Variant { name: "g33", min_gram: 3, max_gram: 3 },
            other => panic!("unknown variant {other}"),
        }
    }

    /// Sentinels appended so that every character starts a gram of `min_gram` characters.
    fn padded(&self, folded: &str) -> String {
        let mut text = folded.to_owned();
        text.extend(std::iter::repeat_n(SENTINEL, self.min_gram - 1));
        text
    }
}

/// Merges small segments only while the result stays under `max_docs`.
#[derive(Debug)]
struct BoundedMerges {
    max_docs: u32,
}

impl MergePolicy for BoundedMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let mut small: Vec<&SegmentMeta> =
            segments.iter().filter(|s| s.num_docs() < self.max_docs / 2).collect();
        small.sort_by_key(|segment| segment.num_docs());
        let mut candidates = vec![];
        let (mut group, mut docs) = (vec![], 0u32);
        for segment in small {
            if docs + segment.num_docs() > self.max_docs && group.len() >= 2 {
                candidates.push(MergeCandidate(std::mem::take(&mut group)));
                docs = 0;
            }
            docs += segment.num_docs();
            group.push(segment.id());
            if group.len() >= 8 {
                candidates.push(MergeCandidate(std::mem::take(&mut group)));
                docs = 0;
            }
        }
        candidates
    }
}

struct Built {
    reader: IndexReader,
    text: Field,
    took: Duration,
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn build(variant: Variant, texts: &[Vec<String>]) -> Built {
    let mut builder = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer("grams")
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let text = builder.add_text_field("text", TextOptions::default().set_indexing_options(indexing));
    let sequence = builder.add_u64_field("sequence", FAST);
    let index = Index::create_in_ram(builder.build());
    let grams = NgramTokenizer::new(variant.min_gram, variant.max_gram, false).unwrap();
    index.tokenizers().register("grams", TextAnalyzer::builder(grams).build());
    let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 24_000_000).unwrap();
    let max_docs = env_number("MAX_SEGMENT_DOCS", 0);
    if max_docs > 0 {
        writer.set_merge_policy(Box::new(BoundedMerges { max_docs: max_docs as u32 }));
    } else {
        writer.set_merge_policy(Box::new(LogMergePolicy::default()));
    }
    let commit_every = env_number("COMMIT_EVERY", 2000);
    let started = Instant::now();
    for (number, bard_texts) in texts.iter().enumerate() {
        let mut document = TantivyDocument::new();
        for value in bard_texts {
            document.add_text(text, variant.padded(value));
        }
        document.add_u64(sequence, number as u64);
        writer.add_document(document).unwrap();
        if (number + 1) % commit_every == 0 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    writer.wait_merging_threads().unwrap();
    let took = started.elapsed();
    let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().unwrap();
    Built { reader, text, took }
}

/// Bytes of the searchable segments, by component.
fn file_bytes(reader: &IndexReader) -> Vec<(String, u64)> {
    let usage = reader.searcher().space_usage().unwrap();
    let (mut termdict, mut postings, mut fast, mut store, mut other) = (0, 0, 0, 0, 0);
    for segment in usage.segments() {
        termdict += segment.termdict().total().get_bytes();
        postings += segment.postings().total().get_bytes();
        fast += segment.fast_fields().total().get_bytes();
        store += segment.store().total().get_bytes();
        other += segment.positions().total().get_bytes() + segment.fieldnorms().total().get_bytes();
    }
    [("termdict", termdict), ("postings", postings), ("fast", fast), ("store", store), ("other", other)]
        .into_iter()
        .map(|(kind, bytes)| (kind.to_owned(), bytes))
        .collect()
}

/// Candidate sequences for `term` (already folded), visited until `visit` says stop.
fn candidates(built: &Built, variant: Variant, term: &str, mut visit: impl FnMut(u64) -> bool) {
    let searcher = built.reader.searcher();
    let chars: Vec<char> = term.chars().collect();
    if chars.len() < variant.min_gram {
        for segment in searcher.segment_readers() {
            let sequences = segment.fast_fields().u64("sequence").unwrap();
            let inverted = segment.inverted_index(built.text).unwrap();
            let mut upper = term.as_bytes().to_vec();
            upper.push(0xFF);
            let mut terms = inverted.terms().range().ge(term.as_bytes()).lt(&upper).into_stream().unwrap();
            while terms.advance() {
                let mut postings =
                    inverted.read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic).unwrap();
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    if visit(sequences.first(doc).unwrap()) {
                        return;
                    }
                    doc = postings.advance();
                }
            }
        }
        return;
    }
    let grams: BTreeSet<String> = if chars.len() <= variant.max_gram {
        BTreeSet::from([term.to_owned()])
    } else {
        chars.windows(variant.max_gram).map(|gram| gram.iter().collect()).collect()
    };
    walk_all_grams(built, &grams, visit);
}

fn walk_all_grams(built: &Built, grams: &BTreeSet<String>, mut visit: impl FnMut(u64) -> bool) {
    let clauses: Vec<(Occur, Box<dyn Query>)> = grams
        .iter()
        .map(|gram| {
            let term = Term::from_field_text(built.text, gram);
            (Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>)
        })
        .collect();
    let query = BooleanQuery::new(clauses);
    let searcher = built.reader.searcher();
    let weight = query.weight(EnableScoring::disabled_from_searcher(&searcher)).unwrap();
    for segment in searcher.segment_readers() {
        let sequences = segment.fast_fields().u64("sequence").unwrap();
        let mut scorer = weight.scorer(segment, 1.0).unwrap();
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if visit(sequences.first(doc).unwrap()) {
                return;
            }
            doc = scorer.advance();
        }
    }
}

fn search(built: &Built, variant: Variant, texts: &[Vec<String>], term: &str) -> Vec<u64> {
    let mut found = vec![];
    let mut seen = HashSet::new();
    candidates(built, variant, term, |sequence| {
        if seen.insert(sequence) && texts[sequence as usize].iter().any(|text| text.contains(term)) {
            found.push(sequence);
        }
        found.len() >= LIMIT
    });
    found
}

fn brute_force(texts: &[Vec<String>], term: &str) -> usize {
    texts.iter().filter(|bard| bard.iter().any(|text| text.contains(term))).take(LIMIT).count()
}

fn measure(variant: Variant, texts: &[Vec<String>], terms: &[String]) {
    let (rss_before, _) = bench_data::resident_memory();
    let built = build(variant, texts);
    built.reader.reload().unwrap();
    let (rss_after, peak) = bench_data::resident_memory();
    let bards = texts.len() as u64;
    let files = file_bytes(&built.reader);
    let total: u64 = files.iter().map(|(_, bytes)| bytes).sum();
    let segments = built.reader.searcher().segment_readers().len();
    println!(
        "{}: built in {:.1} s ({:.0} docs/s), {segments} segments, files {:.1} bytes/bard, RSS +{:.1} bytes/bard, peak {:.0} MiB",
        variant.name,
        built.took.as_secs_f64(),
        bards as f64 / built.took.as_secs_f64(),
        total as f64 / bards as f64,
        rss_after.saturating_sub(rss_before) as f64 / bards as f64,
        bench_data::mib(peak),
    );
    let kinds: Vec<String> =
        files.iter().map(|(kind, bytes)| format!("{kind} {:.1}", *bytes as f64 / bards as f64)).collect();
    println!("  bytes/bard by file: {}", kinds.join(", "));
    report_latency(&built, variant, texts, terms);
}

fn report_latency(built: &Built, variant: Variant, texts: &[Vec<String>], terms: &[String]) {
    let mut micros = vec![];
    let mut mismatches = 0;
    for (number, term) in terms.iter().enumerate() {
        let started = Instant::now();
        let found = search(built, variant, texts, term).len();
        micros.push(started.elapsed().as_micros());
        if number % 50 == 0 && found != brute_force(texts, term) {
            mismatches += 1;
        }
    }
    micros.sort_unstable();
    println!(
        "  search over {} terms: p50={} µs p90={} µs p99={} µs max={} µs; {} of {} checked terms differ from brute force",
        micros.len(),
        bench_data::percentile(&micros, 0.5),
        bench_data::percentile(&micros, 0.9),
        bench_data::percentile(&micros, 0.99),
        micros[micros.len() - 1],
        mismatches,
        terms.len().div_ceil(50),
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|arg| arg.replace('_', "").parse().ok()).unwrap_or(1_000_000);
    let variants: Vec<Variant> = args.map(|name| Variant::named(&name)).collect();
    let bases = bench_data::distinct_valid_bards();
    let texts: Vec<Vec<String>> = bench_data::unique_bards(&bases, count)
        .map(|bard| {
            let mut texts = vec![bard.apelido.to_lowercase(), bard.nome.to_lowercase()];
            texts.extend(bard.stack.iter().flat_map(|stack| stack.iter()).map(|item| item.to_lowercase()));
            texts
        })
        .collect();
    let terms: Vec<String> = bench_data::search_terms().iter().map(|term| term.to_lowercase()).collect();
    println!("{count} bards, {} terms, commit every {} docs", terms.len(), env_number("COMMIT_EVERY", 2000));
    for variant in variants {
        measure(variant, &texts, &terms);
    }
}
