#!/usr/bin/env python3
"""Prints the drills' results as a table and writes it into ops/drills/RESULTS.md, in the
section of its mode (full or --fast; the other section is kept).

Usage: report.py full|fast WALL_SECONDS RESULT.json...
"""
import json
import re
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = ("| drill | load (rate × s) | acknowledged (201) | lost | counts = 201s | digests equal "
          "| other statuses seen | connection errors | recovery | notes | result | date | commit |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def statuses(r: dict) -> str:
    seen = r.get("statuses", {}).get("seen", {})
    parts = []
    for kind, codes in seen.items():
        normal = {"create": {"201"}, "read": {"200"}, "search": {"200"}}[kind] | {"0"}
        if r.get("statuses", {}).get("nginx_502_in_fault_window"):
            normal = normal | {"502"}
        parts += [f"{kind} {code}×{n}" for code, n in sorted(codes.items()) if code not in normal]
    return ", ".join(parts) or "none"


def recovery(r: dict) -> str:
    rec, timings = r.get("recovery", {}), r.get("timings", {})
    parts = []
    if rec.get("first_201_s") is not None:
        parts.append(f"fault→first 201 after last failure {rec['first_201_s']} s "
                     f"({rec.get('failed_creates', 0)} failed creates over {rec.get('failed_window_s', 0)} s)")
    if rec.get("longest_gap_without_201_s") is not None:
        parts.append(f"longest time without a 201 {rec['longest_gap_without_201_s']} s")
    parts += [f"{k} {v}" for k, v in timings.items() if k != "drain_s"]
    if "drain_s" in timings:
        parts.append(f"drain after load {timings['drain_s']} s")
    return "; ".join(parts)


def connection_errors(r: dict) -> str:
    s = r.get("statuses", {})
    text = str(s.get("connection_errors", "?"))
    if s.get("nginx_502_in_fault_window"):
        text += f" (of which nginx 502 for a request cut by the fault: {s['nginx_502_in_fault_window']})"
    return text


def row(r: dict) -> str:
    counts = r.get("counts", {})
    count_ok = "yes" if counts and all(str(v) == str(r.get("acknowledged", 0) + r.get("committed_without_201", 0))
                                       for v in counts.values()) else f"NO {counts}"
    if r.get("committed_without_201"):
        count_ok += f" (+{r['committed_without_201']} committed without 201)"
    result = "PASS" if r.get("passed") else "FAIL: " + "; ".join(r.get("failures", []))
    cells = [r["drill"], f"{r['rate']}/s × {r.get('load_seconds', 0)} s", str(r.get("acknowledged", "?")),
             str(r.get("lost", "?")), count_ok, "yes" if r.get("digests_equal") else "NO", statuses(r),
             connection_errors(r), recovery(r),
             "; ".join(r.get("notes", [])), result, r["date"], r["commit"]]
    return "| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |\n"


def main() -> int:
    mode, wall, files = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    results = [json.loads(Path(f).read_text()) for f in files if Path(f).exists()]
    table = HEADER + "".join(row(r) for r in results)
    ok = len(results) == len(files) and all(r.get("passed") for r in results)
    section = (f"## {'Full drills' if mode == 'full' else 'Fast drills (--fast, the test command)'}\n\n"
               f"`ops/drills/run-all.sh{' --fast' if mode == 'fast' else ''}`: {len(results)} drills, "
               f"{'all passed' if ok else 'SOME FAILED'}, total wall time {wall:.0f} s.\n\n{table}")
    print(section)
    text = RESULTS.read_text() if RESULTS.exists() else (
        "# Fault drills\n\nWritten by `ops/drills/run-all.sh` (see ops/drills/README.md). "
        "Lost must be 0; a connection refused or cut during a fault is counted apart, not an answer.\n\n"
        "<!-- full -->\n<!-- /full -->\n\n<!-- fast -->\n<!-- /fast -->\n")
    pattern = re.compile(rf"<!-- {mode} -->.*?<!-- /{mode} -->", re.S)
    text = pattern.sub(lambda _: f"<!-- {mode} -->\n{section}<!-- /{mode} -->", text)
    RESULTS.write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
