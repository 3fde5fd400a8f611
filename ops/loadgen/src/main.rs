//! `bardo-load`: sends creates (each followed by a GET of its Location on the next target, as
//! the tournament does) at a fixed rate — open loop, so a slow server cannot slow the clock
//! down — and reports statuses and latency percentiles measured from each request's scheduled
//! time. With `--ledger FILE` it writes one line per create: status, id, apelido.

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Base URLs, used round-robin (`http://127.0.0.1:9101`).
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// Creates per second; 0 sends as fast as the workers can (closed loop).
    #[arg(long, default_value_t = 600)]
    rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    workers: usize,
    /// Follow each 201 with a GET of its Location on the next target.
    #[arg(long)]
    read_back: bool,
    /// Write every create's outcome here.
    #[arg(long)]
    ledger: Option<std::path::PathBuf>,
}

/// One create's outcome.
struct Answer {
    status: u16,
    read_back: Option<u16>,
    latency: Duration,
    location: String,
    apelido: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let started = Instant::now();
    let answers = drive(&args, &run, started);
    let elapsed = started.elapsed();
    if let Some(path) = &args.ledger {
        write_ledger(path, &answers)?;
    }
    println!("{}", summary(&answers, elapsed));
    Ok(())
}

/// Runs the dispatcher (the clock) and the workers; returns every answer.
fn drive(args: &Args, run: &str, started: Instant) -> Vec<Answer> {
    let (slots, receiver) = sync_channel::<(u64, Instant)>(args.workers * 4);
    let receiver = Arc::new(Mutex::new(receiver));
    let workers: Vec<_> = (0..args.workers)
        .map(|_| {
            let (receiver, args, run) = (Arc::clone(&receiver), args.clone(), run.to_owned());
            std::thread::spawn(move || work(&receiver, &args, &run))
        })
        .collect();
    let total = args.rate * args.seconds;
    let deadline = started + Duration::from_secs(args.seconds);
    let mut n = 0u64;
    while Instant::now() < deadline && (args.rate == 0 || n < total) {
        let due = if args.rate == 0 {
            Instant::now()
        } else {
            started + Duration::from_secs_f64(n as f64 / args.rate as f64)
        };
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if slots.send((n, due)).is_err() {
            break;
        }
        n += 1;
    }
    drop(slots);
    workers.into_iter().flat_map(|worker| worker.join().expect("worker")).collect()
}

fn work(receiver: &Mutex<Receiver<(u64, Instant)>>, args: &Args, run: &str) -> Vec<Answer> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    let mut answers = vec![];
    loop {
        let next = receiver.lock().expect("lock").recv();
        let Ok((n, due)) = next else { return answers };
        answers.push(create(&agent, args, run, n, due));
    }
}

fn create(agent: &ureq::Agent, args: &Args, run: &str, n: u64, due: Instant) -> Answer {
    let target = &args.targets[n as usize % args.targets.len()];
    let apelido = format!("l{run}{n}");
    let body = format!(
        r#"{{"apelido":"{apelido}","nome":"Bardo {n}","nascimento":"1990-01-01","stack":["Rust","Go"]}}"#
    );
    let response =
        agent.post(&format!("{target}/bards")).set("content-type", "application/json").send_string(&body);
    let (status, location) = match response {
        Ok(ok) => (ok.status(), ok.header("location").unwrap_or_default().to_owned()),
        Err(ureq::Error::Status(code, _)) => (code, String::new()),
        Err(ureq::Error::Transport(_)) => (0, String::new()),
    };
    let latency = due.elapsed();
    let read_back = (args.read_back && status == 201).then(|| {
        let reader = &args.targets[(n as usize + 1) % args.targets.len()];
        match agent.get(&format!("{reader}{location}")).call() {
            Ok(ok) => ok.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(ureq::Error::Transport(_)) => 0,
        }
    });
    Answer { status, read_back, latency, location, apelido }
}

fn write_ledger(path: &std::path::Path, answers: &[Answer]) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for answer in answers {
        let id = answer.location.rsplit('/').next().unwrap_or_default();
        writeln!(file, "{}\t{}\t{}", answer.status, id, answer.apelido)?;
    }
    Ok(())
}

fn summary(answers: &[Answer], elapsed: Duration) -> serde_json::Value {
    let mut latencies: Vec<Duration> = answers.iter().map(|a| a.latency).collect();
    latencies.sort();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for answer in answers {
        *statuses.entry(answer.status.to_string()).or_default() += 1;
    }
    let misses = answers.iter().filter(|a| a.read_back.is_some_and(|code| code != 200)).count();
    serde_json::json!({
        "creates": answers.len(),
        "seconds": elapsed.as_secs_f64(),
        "creates_per_second": answers.len() as f64 / elapsed.as_secs_f64(),
        "statuses": statuses,
        "read_back_misses": misses,
        "latency_ms": { "p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99), "max": percentile(1.0) },
    })
}
