//! The tournament's load data, shared by the benchmarks (each includes this file with
//! `#[path]`), and, run on its own, a summary of what the payload file contains:
//!
//! ```text
//! cargo run --release --example bench_data
//! ```
//!
//! Data directory: `RINHA_DATA_DIR`, default `/work/shared/rinha-2023-q3`.

use std::collections::HashSet;
use std::path::PathBuf;

use bardo_actors::model::{NewBard, MAX_APELIDO_CHARS};
use bardo_actors::validation::{parse_new_bard, RejectionKind};

const DEFAULT_DATA_DIR: &str = "/work/shared/rinha-2023-q3";
const PAYLOADS_FILE: &str = "pessoas-payloads.tsv";
const TERMS_FILE: &str = "termos-busca.tsv";
/// Characters kept from a base apelido when deduplicating: a suffix of up to 3 digits fits.
const BASE_KEY_CHARS: usize = MAX_APELIDO_CHARS - 3;

fn data_path(file: &str) -> PathBuf {
    let dir = std::env::var("RINHA_DATA_DIR").unwrap_or_else(|_| DEFAULT_DATA_DIR.into());
    PathBuf::from(dir).join(file)
}

fn read_data_file(file: &str) -> String {
    let path = data_path(file);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path:?}: {error}"))
}

/// The raw JSON bodies, in file order (the header line `payload` skipped), at most `limit`.
pub fn payload_lines(limit: usize) -> Vec<String> {
    let text = read_data_file(PAYLOADS_FILE);
    let lines = text.lines().skip(1).filter(|line| !line.is_empty());
    lines.take(limit).map(str::to_owned).collect()
}

/// The 5,000 tournament search terms, URL-decoded (`+` and `%20` are spaces).
pub fn search_terms() -> Vec<String> {
    let text = read_data_file(TERMS_FILE);
    let lines = text.lines().skip(1).filter(|line| !line.is_empty());
    lines.map(url_decode).collect()
}

fn url_decode(text: &str) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        let decoded = match byte {
            b'+' => b' ',
            b'%' => {
                let hex: Vec<u8> = input.by_ref().take(2).collect();
                let hex = std::str::from_utf8(&hex).unwrap_or("");
                u8::from_str_radix(hex, 16).unwrap_or(b'?')
            }
            other => other,
        };
        bytes.push(decoded);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Valid bodies with distinct apelidos (first occurrence wins), from the whole payload file.
/// Distinct in their first 29 characters, so a digit suffix can never make two equal.
pub fn distinct_valid_bards() -> Vec<NewBard> {
    let mut seen_keys = HashSet::new();
    payload_lines(usize::MAX)
        .iter()
        .filter_map(|line| parse_new_bard(line.as_bytes()).ok())
        .filter(|bard| {
            let key: String = bard.apelido.chars().take(BASE_KEY_CHARS).collect();
            seen_keys.insert(key)
        })
        .collect()
}

/// `count` bards with unique apelidos: the distinct valid bards as they are, then again with
/// the round number as a suffix (the file's apelidos are letters only, suffixes digits only),
/// cutting the base so the apelido stays within 32 characters.
pub fn unique_bards(bases: &[NewBard], count: usize) -> impl Iterator<Item = NewBard> + '_ {
    assert!(!bases.is_empty(), "no valid payloads to build bards from");
    (0..count).map(move |index| {
        let round = index / bases.len();
        let mut bard = bases[index % bases.len()].clone();
        if round > 0 {
            assert!(round < 1000, "more than 999 rounds: suffixes would not fit");
            let suffix = round.to_string();
            let keep = MAX_APELIDO_CHARS - suffix.len();
            let base: String = bard.apelido.chars().take(keep).collect();
            bard.apelido = format!("{base}{suffix}").into();
        }
        bard
    })
}

/// Sorted-sample percentile (nearest rank); `sorted` must be ascending and non-empty.
pub fn percentile<T: Copy>(sorted: &[T], fraction: f64) -> T {
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Resident and peak resident memory of this process, in bytes (`VmRSS`, `VmHWM`).
pub fn resident_memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// How the payload file's lines would be answered by validation alone (duplicates aside).
fn main() {
    let lines = payload_lines(usize::MAX);
    let (mut valid, mut malformed, mut unprocessable) = (0, 0, 0);
    let mut apelidos = HashSet::new();
    let mut valid_and_unique = 0;
    for line in &lines {
        match parse_new_bard(line.as_bytes()) {
            Ok(bard) => {
                valid += 1;
                valid_and_unique += usize::from(apelidos.insert(bard.apelido));
            }
            Err(rejection) if rejection.kind == RejectionKind::Malformed => malformed += 1,
            Err(_) => unprocessable += 1,
        }
    }
    let terms = search_terms();
    let short_terms = terms.iter().filter(|term| term.chars().count() < 3).count();
    println!("payload lines: {}", lines.len());
    println!("  valid: {valid} (unique apelido: {valid_and_unique})");
    println!("  400 malformed: {malformed}, 422 unprocessable: {unprocessable}");
    println!("  distinct bases for unique_bards: {}", distinct_valid_bards().len());
    println!("search terms: {} ({short_terms} shorter than 3 chars)", terms.len());
}
