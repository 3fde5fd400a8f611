//! `bardo-fill`: fills a bardo site through its front door until a target count or the first
//! failure, the way the tournament loads it but without end — closed loop, `--workers`
//! connections. Every create is a valid body of the tournament's own payload file made unique
//! (the apelido gets a round number), followed by a GET of its `Location`; every
//! `--search-every`th create by a search with a tournament term, every `--invalid-every`th by
//! a search without `t` (must be 400).
//!
//! Every `--report-every` creates it prints one JSON line: count, rate, KO, latency
//! percentiles of that window, and the output of `--sample-cmd` (a JSON object: memory of
//! every service, stream size…), run when the window closes. The last line is the summary,
//! with `largest_count_with_zero_ko`. A KO is any answer other than 201 (create), 200 (read,
//! search) or 400 (search without `t`), or no answer; by default the first KO stops the fill.

// `ureq::Error` is the HTTP client's own type, returned once a request: its size costs nothing.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bardo_actors::model::{NewBard, MAX_APELIDO_CHARS};
use bardo_actors::validation::parse_new_bard;
use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug)]
struct Args {
    /// The site's base URL (nginx).
    #[arg(long, default_value = "http://127.0.0.1:9999")]
    target: String,
    /// The tournament's pessoas-payloads.tsv.
    #[arg(long)]
    payloads: PathBuf,
    /// The tournament's termos-busca.tsv.
    #[arg(long)]
    terms: PathBuf,
    /// Stop after this many bards were created.
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Concurrent connections (closed loop: each waits for its answer before the next request).
    #[arg(long, default_value_t = 64)]
    workers: usize,
    /// A line of figures every this many creates.
    #[arg(long, default_value_t = 100_000)]
    report_every: u64,
    /// Run at each report; its stdout (a JSON object) goes into the line as "sample".
    #[arg(long)]
    sample_cmd: Option<String>,
    /// A search with a tournament term after every Nth create (the tournament: about 1 in 6).
    #[arg(long, default_value_t = 6)]
    search_every: u64,
    /// A search without `t` after every Nth create (the tournament: about 1 in 13).
    #[arg(long, default_value_t = 13)]
    invalid_every: u64,
    /// Keep going after a KO (counting them) instead of stopping at the first.
    #[arg(long)]
    keep_going: bool,
    /// Per-request timeout in milliseconds (Gatling's default is 60 s).
    #[arg(long, default_value_t = 60_000)]
    timeout_ms: u64,
    /// Added to every apelido so that fills into one site never collide (default: random).
    #[arg(long)]
    run_tag: Option<String>,
}

/// Answers of one window, by kind.
#[derive(Default)]
struct Window {
    latencies: BTreeMap<&'static str, Vec<f64>>,
    ko: u64,
}

struct Shared {
    args: Args,
    bases: Vec<NewBard>,
    terms: Vec<String>,
    tag: String,
    next: AtomicU64,
    created: AtomicU64,
    /// Creates answered 201 before the first KO.
    clean_created: AtomicU64,
    ko: AtomicU64,
    stop: AtomicBool,
    first_ko: Mutex<Option<serde_json::Value>>,
    window: Mutex<Window>,
    started: Instant,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bases = distinct_valid_bases(&args.payloads)?;
    let terms = read_lines(&args.terms)?.into_iter().map(|term| url_decode(&term)).collect();
    let tag =
        args.run_tag.clone().unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..4].to_owned());
    eprintln!(
        "bardo-fill: {} distinct valid bases, target {} bards, {} workers",
        bases.len(),
        args.count,
        args.workers
    );
    let shared = Arc::new(Shared {
        args,
        bases,
        terms,
        tag,
        next: AtomicU64::new(0),
        created: AtomicU64::new(0),
        clean_created: AtomicU64::new(0),
        ko: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        first_ko: Mutex::new(None),
        window: Mutex::new(Window::default()),
        started: Instant::now(),
    });
    let workers: Vec<_> = (0..shared.args.workers)
        .map(|_| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || work(&shared))
        })
        .collect();
    let reporter = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || report_windows(&shared))
    };
    for worker in workers {
        worker.join().expect("worker");
    }
    shared.stop.store(true, Ordering::Release);
    reporter.join().expect("reporter");
    println!("{}", summary(&shared));
    Ok(())
}

/// The lines after the header line.
fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let lines: Vec<String> =
        text.lines().skip(1).filter(|line| !line.is_empty()).map(str::to_owned).collect();
    anyhow::ensure!(!lines.is_empty(), "{}: no lines after the header", path.display());
    Ok(lines)
}

fn url_decode(text: &str) -> String {
    let mut bytes = vec![];
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        bytes.push(match byte {
            b'+' => b' ',
            b'%' => {
                let hex: Vec<u8> = input.by_ref().take(2).collect();
                u8::from_str_radix(std::str::from_utf8(&hex).unwrap_or(""), 16).unwrap_or(b'?')
            }
            other => other,
        });
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The file's valid bodies, one per apelido (first 28 characters: room for a round suffix).
fn distinct_valid_bases(path: &Path) -> anyhow::Result<Vec<NewBard>> {
    let mut seen = HashSet::new();
    let bases: Vec<NewBard> = read_lines(path)?
        .iter()
        .filter_map(|line| parse_new_bard(line.as_bytes()).ok())
        .filter(|bard| seen.insert(bard.apelido.chars().take(MAX_APELIDO_CHARS - 4).collect::<String>()))
        .collect();
    anyhow::ensure!(!bases.is_empty(), "{}: no valid payloads", path.display());
    Ok(bases)
}

/// The body of create `n`: its base with a unique apelido (`<base>` + round + tag).
fn body(shared: &Shared, n: u64) -> String {
    let base = &shared.bases[(n % shared.bases.len() as u64) as usize];
    let round = n / shared.bases.len() as u64;
    let suffix = format!("{round}{}", shared.tag);
    let keep = MAX_APELIDO_CHARS.saturating_sub(suffix.chars().count());
    let apelido: String = base.apelido.chars().take(keep).chain(suffix.chars()).collect();
    let stack =
        base.stack.as_ref().map(|items| items.iter().map(|item| item.to_string()).collect::<Vec<_>>());
    json!({"apelido": apelido, "nome": &*base.nome, "nascimento": base.nascimento.to_string(), "stack": stack})
        .to_string()
}

fn work(shared: &Shared) {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_millis(shared.args.timeout_ms)).build();
    let target = &shared.args.target;
    while !shared.stop.load(Ordering::Acquire) {
        let n = shared.next.fetch_add(1, Ordering::Relaxed);
        if n >= shared.args.count {
            return;
        }
        let post = agent.post(&format!("{target}/bards")).set("content-type", "application/json");
        let (status, location, latency) = timed(|| post.send_string(&body(shared, n)));
        if !answered(shared, "create", n, status, 201, latency) {
            continue;
        }
        let created = shared.created.fetch_add(1, Ordering::AcqRel) + 1;
        if shared.ko.load(Ordering::Acquire) == 0 {
            shared.clean_created.fetch_max(created, Ordering::AcqRel);
        }
        let (status, _, latency) = timed(|| agent.get(&format!("{target}{location}")).call());
        answered(shared, "read", n, status, 200, latency);
        mixed_searches(shared, &agent, n);
    }
}

fn mixed_searches(shared: &Shared, agent: &ureq::Agent, n: u64) {
    let (args, target) = (&shared.args, &shared.args.target);
    if args.search_every > 0 && n.is_multiple_of(args.search_every) {
        let term = &shared.terms[(n / args.search_every) as usize % shared.terms.len()];
        let (status, _, latency) = timed(|| agent.get(&format!("{target}/bards")).query("t", term).call());
        answered(shared, "search", n, status, 200, latency);
    }
    if args.invalid_every > 0 && n.is_multiple_of(args.invalid_every) {
        let (status, _, latency) = timed(|| agent.get(&format!("{target}/bards")).call());
        answered(shared, "search_without_t", n, status, 400, latency);
    }
}

/// Status (0: no answer), Location and latency in milliseconds of one request.
fn timed(request: impl FnOnce() -> Result<ureq::Response, ureq::Error>) -> (u16, String, f64) {
    let started = Instant::now();
    let (status, location) = match request() {
        Ok(response) => (response.status(), response.header("location").unwrap_or_default().to_owned()),
        Err(ureq::Error::Status(code, _)) => (code, String::new()),
        Err(ureq::Error::Transport(_)) => (0, String::new()),
    };
    (status, location, started.elapsed().as_secs_f64() * 1e3)
}

/// Records one answer; false (and a KO) when it is not the expected status.
fn answered(shared: &Shared, kind: &'static str, n: u64, status: u16, expected: u16, latency: f64) -> bool {
    let mut window = shared.window.lock().expect("window");
    window.latencies.entry(kind).or_default().push(latency);
    if status == expected {
        return true;
    }
    window.ko += 1;
    shared.ko.fetch_add(1, Ordering::AcqRel);
    let mut first = shared.first_ko.lock().expect("first KO");
    if first.is_none() {
        let created = shared.created.load(Ordering::Acquire);
        *first = Some(
            json!({"kind": kind, "n": n, "status": status, "expected": expected, "created_before": created}),
        );
        eprintln!("bardo-fill: first KO: {kind} #{n} answered {status} (expected {expected}) after {created} creates");
    }
    if !shared.args.keep_going {
        shared.stop.store(true, Ordering::Release);
    }
    false
}

/// Prints a line each time `report_every` more bards exist, and a last one at the end.
fn report_windows(shared: &Shared) {
    let every = shared.args.report_every.max(1);
    let mut next_report = every;
    let mut last = (0u64, Instant::now());
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        let created = shared.created.load(Ordering::Acquire);
        if created >= next_report || stopping {
            println!("{}", window_line(shared, created, last));
            last = (created, Instant::now());
            next_report = (created / every + 1) * every;
        }
        if stopping {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn percentiles(latencies: &mut [f64]) -> serde_json::Value {
    latencies.sort_by(f64::total_cmp);
    let at = |p: f64| latencies.get(((latencies.len() as f64 * p).ceil() as usize).max(1) - 1).copied();
    json!({"n": latencies.len(), "p50": at(0.5), "p99": at(0.99), "max": at(1.0)})
}

fn window_line(shared: &Shared, created: u64, (last_created, last_at): (u64, Instant)) -> serde_json::Value {
    let window = std::mem::take(&mut *shared.window.lock().expect("window"));
    let latency: BTreeMap<&str, serde_json::Value> =
        window.latencies.into_iter().map(|(kind, mut values)| (kind, percentiles(&mut values))).collect();
    let seconds = last_at.elapsed().as_secs_f64();
    let sample = shared.args.sample_cmd.as_deref().map(run_sample);
    json!({
        "created": created,
        "elapsed_seconds": shared.started.elapsed().as_secs_f64(),
        "creates_per_second": (created - last_created) as f64 / seconds.max(1e-9),
        "ko": window.ko,
        "ko_total": shared.ko.load(Ordering::Acquire),
        "latency_ms": latency,
        "sample": sample,
    })
}

/// The sampler's JSON, or what went wrong with it.
fn run_sample(command: &str) -> serde_json::Value {
    match std::process::Command::new("sh").arg("-c").arg(command).output() {
        Ok(output) => serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            json!({"error": format!("sampler output is not JSON: {error}"),
                   "stderr": String::from_utf8_lossy(&output.stderr)})
        }),
        Err(error) => json!({"error": format!("sampler did not run: {error}")}),
    }
}

fn summary(shared: &Shared) -> serde_json::Value {
    json!({
        "summary": true,
        "target": shared.args.count,
        "created": shared.created.load(Ordering::Acquire),
        "ko": shared.ko.load(Ordering::Acquire),
        "largest_count_with_zero_ko": shared.clean_created.load(Ordering::Acquire),
        "first_ko": *shared.first_ko.lock().expect("first KO"),
        "seconds": shared.started.elapsed().as_secs_f64(),
    })
}
