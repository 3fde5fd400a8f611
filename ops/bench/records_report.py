#!/usr/bin/env python3
"""The report of ops/bench/records.sh, from what it kept in OUT: the per-100k table, bytes per
bard per component, each service's peak against its limit, the largest count with 0 KO, and
the tournament profile run on top. Usage: records_report.py OUT"""
import json
import os
import sys

MIB = 1 << 20
SERVICES = ("api1", "api2", "replica", "rabbitmq", "nginx")


def load(out):
    lines = [json.loads(l) for l in open(os.path.join(out, "fill.jsonl")) if l.startswith("{")]
    windows = [l for l in lines if not l.get("summary")]
    summary = next((l for l in lines if l.get("summary")), {})
    empty = json.load(open(os.path.join(out, "sample-empty.json")))
    return windows, summary, empty


def mib(value):
    return f"{value / MIB:.0f}" if isinstance(value, (int, float)) else "-"


def window_table(windows):
    print("per window (created, rate, KO, latency ms p99/max, memory MiB = cgroup usage; stream MiB):")
    print(f"{'created':>9} {'s':>6} {'/s':>6} {'KO':>3} {'create p99':>10} {'max':>7} {'read p99':>8} "
          f"{'search p99':>10} " + " ".join(f"{s:>8}" for s in SERVICES) + f" {'stream':>7}")
    for w in windows:
        lat = w.get("latency_ms", {})
        p = lambda kind, q: lat.get(kind, {}).get(q)
        fmt = lambda v: f"{v:.1f}" if isinstance(v, (int, float)) else "-"
        services = w.get("sample", {}).get("services", {})
        print(f"{w['created']:>9} {w['elapsed_seconds']:>6.0f} {w['creates_per_second']:>6.0f} {w['ko']:>3} "
              f"{fmt(p('create', 'p99')):>10} {fmt(p('create', 'max')):>7} {fmt(p('read', 'p99')):>8} "
              f"{fmt(p('search', 'p99')):>10} "
              + " ".join(f"{mib(services.get(s, {}).get('usage')):>8}" for s in SERVICES)
              + f" {mib(w.get('sample', {}).get('stream_bytes')):>7}")


def per_bard(last, empty, bards):
    print(f"\nbytes per bard at {bards} bards (growth since the empty cluster / bards):")
    for s in SERVICES:
        now, then = last["services"].get(s, {}), empty["services"].get(s, {})
        usage = (now.get("usage", 0) - then.get("usage", 0)) / bards
        rss = (now.get("process_rss", 0) - then.get("process_rss", 0)) / bards
        print(f"  {s:<9} cgroup usage {usage:7.1f}   process RSS {rss:7.1f}")
    stream = last.get("stream_bytes")
    if stream is not None:
        print(f"  stream on the broker's disk: {mib(stream)} MiB ({stream / bards:.1f} bytes/bard)")
    for name, instance in last.get("instances", {}).items():
        memory = instance.get("memory") or {}
        view, index = memory.get("view") or {}, memory.get("index") or {}
        if not view:
            continue
        parts = {
            "records": view.get("records_reserved", 0), "id tables": view.get("id_tables", 0),
            "apelido tables": view.get("apelido_tables", 0), "order": view.get("order", 0),
            "postings": index.get("postings", 0), "term dict": index.get("term_dictionary", 0),
            "fast field": index.get("fast_fields", 0), "doc store": index.get("document_store", 0),
            "writer arena": index.get("writer_arena", 0),
        }
        rss = (memory.get("process") or {}).get("rss", 0)
        accounted = sum(parts.values())
        line = ", ".join(f"{k} {v / bards:.1f}" for k, v in parts.items())
        print(f"  {name:<8} parts: {line}; sum {accounted / bards:.1f}; RSS {rss / bards:.1f}"
              f" ({index.get('segments', '?')} index segments)")


def peaks(last):
    print("\npeak memory against each limit (target: under 60 %):")
    for s in SERVICES:
        service = last["services"].get(s, {})
        peak, limit = service.get("peak", 0), service.get("limit", 1)
        state = "alive" if service.get("alive") else "DEAD"
        print(f"  {s:<9} peak {mib(peak):>6} MiB of {mib(limit):>6} MiB = {100 * peak / limit:5.1f} %  ({state})")


def main(out):
    windows, summary, empty = load(out)
    window_table(windows)
    samples = [w["sample"] for w in windows if w.get("sample", {}).get("services")]
    after = os.path.join(out, "sample-after-tournament.json")
    last = json.load(open(after)) if os.path.exists(after) else (samples[-1] if samples else None)
    bards = summary.get("created") or 1
    if samples:
        per_bard(samples[-1], empty, bards)
    if last:
        peaks(last)
    print(f"\nfill: {summary.get('created')} created of {summary.get('target')}, KO {summary.get('ko')}, "
          f"largest count with 0 KO: {summary.get('largest_count_with_zero_ko')}, "
          f"{summary.get('seconds', 0):.0f} s; first KO: {summary.get('first_ko')}")
    tournament = os.path.join(out, "tournament.txt")
    if os.path.exists(tournament):
        keep = ("count before", "count:", "expected ceiling", "KO:", "p50", "p99", "PASS", "FAIL")
        print("tournament profile on top:")
        for line in open(tournament):
            if line.startswith(keep):
                print("  " + line.rstrip())


if __name__ == "__main__":
    main(sys.argv[1])
