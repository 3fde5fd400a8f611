//! `bardo-load`: sends creates at a fixed rate — open loop, so a slow server cannot slow the clock
//! down — and reports statuses and latency percentiles measured from each request's scheduled
//! time. Optionally each 201 is followed by a GET of its Location on the next target (as the
//! tournament does), and every Nth create by a search.
//!
//! Bodies come from `--payloads FILE` (the tournament's `pessoas-payloads.tsv`: a header line,
//! then one JSON body per line, used in order and cycled) or are generated with unique apelidos.
//! Search terms come from `--terms FILE` (`termos-busca.tsv`).
//!
//! It never stops on errors: a refused or broken connection is recorded as status 0 with the
//! error, and the load goes on. It stops after `--seconds` or as soon as `--stop-file` exists.
//! With `--ledger FILE` it writes one JSON line per answer, as it happens:
//! `{"t":<epoch ms sent>,"ms":<latency>,"kind":"create|read|search","n":<slot>,"status":<code, 0 =
//! no answer>,"id":…,"apelido":…,"location":…,"error":…}`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Base URLs, used round-robin (`http://127.0.0.1:9101`).
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// Creates per second; 0 sends as fast as the workers can (closed loop).
    #[arg(long, default_value_t = 600)]
    rate: u64,
    /// Seconds of load (at most; see --stop-file).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    workers: usize,
    /// Follow each 201 with a GET of its Location on the next target.
    #[arg(long)]
    read_back: bool,
    /// Write every answer here, one JSON line each, as it happens.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Create bodies: a TSV with a header line and one JSON body per line (pessoas-payloads.tsv).
    #[arg(long)]
    payloads: Option<PathBuf>,
    /// Search terms: a TSV with a header line and one term per line (termos-busca.tsv).
    #[arg(long)]
    terms: Option<PathBuf>,
    /// After every Nth create, also search (`GET /bards?t=`); 0 = no searches.
    #[arg(long, default_value_t = 0)]
    search_every: u64,
    /// Stop as soon as this file exists.
    #[arg(long)]
    stop_file: Option<PathBuf>,
    /// The first payload slot (`n` in the ledger): a second load against the same log continues
    /// after the first one's slots instead of resending its apelidos.
    #[arg(long = "first-slot", default_value_t = 0)]
    first_slot: u64,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
}

/// What every worker shares.
struct Plan {
    args: Args,
    run: String,
    payloads: Vec<(String, String)>,
    terms: Vec<String>,
    ledger: Option<Mutex<std::io::BufWriter<std::fs::File>>>,
}

/// One answer (or its absence: status 0).
struct Answer {
    kind: &'static str,
    status: u16,
    latency: Duration,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let plan = Arc::new(Plan {
        run: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
        payloads: args.payloads.as_deref().map(read_payloads).transpose()?.unwrap_or_default(),
        terms: args.terms.as_deref().map(read_lines).transpose()?.unwrap_or_default(),
        ledger: args
            .ledger
            .as_deref()
            .map(|path| anyhow::Ok(Mutex::new(std::io::BufWriter::new(std::fs::File::create(path)?))))
            .transpose()?,
        args,
    });
    let started = Instant::now();
    let answers = drive(&plan, started);
    let elapsed = started.elapsed();
    if let Some(ledger) = &plan.ledger {
        ledger.lock().expect("ledger").flush()?;
    }
    println!("{}", summary(&answers, elapsed));
    Ok(())
}

/// The lines after the header line.
fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let lines: Vec<String> = file
        .lines()
        .skip(1)
        .filter(|line| line.as_ref().map_or(true, |l| !l.is_empty()))
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(!lines.is_empty(), "{}: no lines after the header", path.display());
    Ok(lines)
}

/// Bodies with their apelido (empty where the body has no string apelido).
fn read_payloads(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    Ok(read_lines(path)?
        .into_iter()
        .map(|body| {
            let apelido = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("apelido").and_then(|a| a.as_str()).map(str::to_owned))
                .unwrap_or_default();
            (body, apelido)
        })
        .collect())
}

/// Runs the dispatcher (the clock) and the workers; returns every answer.
fn drive(plan: &Arc<Plan>, started: Instant) -> Vec<Answer> {
    let args = &plan.args;
    let (slots, receiver) = sync_channel::<(u64, Instant)>(args.workers * 4);
    let receiver = Arc::new(Mutex::new(receiver));
    let workers: Vec<_> = (0..args.workers)
        .map(|_| {
            let (receiver, plan) = (Arc::clone(&receiver), Arc::clone(plan));
            std::thread::spawn(move || work(&receiver, &plan))
        })
        .collect();
    let total = args.rate * args.seconds;
    let deadline = started + Duration::from_secs(args.seconds);
    let mut n = 0u64;
    while Instant::now() < deadline && (args.rate == 0 || n < total) {
        if args.stop_file.as_deref().is_some_and(Path::exists) {
            break;
        }
        let due = if args.rate == 0 {
            Instant::now()
        } else {
            started + Duration::from_secs_f64(n as f64 / args.rate as f64)
        };
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if slots.send((args.first_slot + n, due)).is_err() {
            break;
        }
        n += 1;
    }
    drop(slots);
    workers.into_iter().flat_map(|worker| worker.join().expect("worker")).collect()
}

fn work(receiver: &Mutex<Receiver<(u64, Instant)>>, plan: &Plan) -> Vec<Answer> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_millis(plan.args.timeout_ms)).build();
    let mut answers = vec![];
    loop {
        let next = receiver.lock().expect("lock").recv();
        let Ok((n, due)) = next else { return answers };
        let (created, location) = create(&agent, plan, n, due);
        answers.push(created);
        if plan.args.read_back && !location.is_empty() {
            let reader = &plan.args.targets[(n as usize + 1) % plan.args.targets.len()];
            answers.push(get(&agent, plan, n, "read", &format!("{reader}{location}"), None));
        }
        let every = plan.args.search_every;
        if every > 0 && n % every == every - 1 {
            let target = &plan.args.targets[n as usize % plan.args.targets.len()];
            let term =
                plan.terms.get((n / every) as usize % plan.terms.len().max(1)).map_or("node", String::as_str);
            answers.push(get(&agent, plan, n, "search", &format!("{target}/bards"), Some(term)));
        }
    }
}

/// Status (0 = no answer), the Location header and the error of one request.
fn outcome(response: Result<ureq::Response, ureq::Error>) -> (u16, String, String) {
    match response {
        Ok(ok) => (ok.status(), ok.header("location").unwrap_or_default().to_owned(), String::new()),
        Err(ureq::Error::Status(code, _)) => (code, String::new(), String::new()),
        Err(ureq::Error::Transport(error)) => (0, String::new(), error.to_string()),
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn create(agent: &ureq::Agent, plan: &Plan, n: u64, due: Instant) -> (Answer, String) {
    let target = &plan.args.targets[n as usize % plan.args.targets.len()];
    let (body, apelido) = if plan.payloads.is_empty() {
        let apelido = format!("l{}{n}", plan.run);
        let body = format!(
            r#"{{"apelido":"{apelido}","nome":"Bardo {n}","nascimento":"1990-01-01","stack":["Rust","Go"]}}"#
        );
        (body, apelido)
    } else {
        plan.payloads[n as usize % plan.payloads.len()].clone()
    };
    let sent = epoch_ms();
    let response =
        agent.post(&format!("{target}/bards")).set("content-type", "application/json").send_string(&body);
    let (status, location, error) = outcome(response);
    let latency = due.elapsed();
    let id = if status == 201 { location.rsplit('/').next().unwrap_or_default() } else { "" };
    record(
        plan,
        json!({"t": sent, "ms": ms(latency), "kind": "create", "n": n, "status": status,
        "id": id, "apelido": apelido, "location": location, "error": error}),
    );
    (Answer { kind: "create", status, latency }, if status == 201 { location } else { String::new() })
}

fn get(
    agent: &ureq::Agent,
    plan: &Plan,
    n: u64,
    kind: &'static str,
    url: &str,
    term: Option<&str>,
) -> Answer {
    let started = Instant::now();
    let sent = epoch_ms();
    let mut request = agent.get(url);
    if let Some(term) = term {
        request = request.query("t", term);
    }
    let (status, _, error) = outcome(request.call());
    let latency = started.elapsed();
    record(
        plan,
        json!({"t": sent, "ms": ms(latency), "kind": kind, "n": n, "status": status,
        "url": url, "term": term, "error": error}),
    );
    Answer { kind, status, latency }
}

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

fn record(plan: &Plan, line: serde_json::Value) {
    if let Some(ledger) = &plan.ledger {
        let mut ledger = ledger.lock().expect("ledger");
        // A full disk must not stop the load: the summary still counts every answer.
        let _ = writeln!(ledger, "{line}");
    }
}

fn summary(answers: &[Answer], elapsed: Duration) -> serde_json::Value {
    let creates: Vec<&Answer> = answers.iter().filter(|a| a.kind == "create").collect();
    let mut latencies: Vec<Duration> = creates.iter().map(|a| a.latency).collect();
    latencies.sort();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let mut by_kind = BTreeMap::<&str, BTreeMap<String, usize>>::new();
    for answer in answers {
        *by_kind.entry(answer.kind).or_default().entry(answer.status.to_string()).or_default() += 1;
    }
    let misses = answers.iter().filter(|a| a.kind == "read" && a.status != 200).count();
    serde_json::json!({
        "creates": creates.len(),
        "seconds": elapsed.as_secs_f64(),
        "creates_per_second": creates.len() as f64 / elapsed.as_secs_f64(),
        "statuses": by_kind.get("create").cloned().unwrap_or_default(),
        "statuses_by_kind": by_kind,
        "connection_errors": answers.iter().filter(|a| a.status == 0).count(),
        "read_back_misses": misses,
        "latency_ms": { "p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99), "max": percentile(1.0) },
    })
}
