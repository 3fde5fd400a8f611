#!/usr/bin/env python3
"""Drill e: api1's cgroup memory.limit_in_bytes lowered under load, step by step, to just above
what it uses, until the OOM killer acts (or the hold ends: then it was only reclaimed/throttled).
Reported: what happened, at which limit. Then the limit is restored by `ops/cluster restart
api1`, which must catch up; nothing acknowledged may be lost."""
import os
import sys
import time

from drilllib import Drill, log

MIB = 1 << 20


def squeeze(d: Drill, memory, pid: int, hold: float) -> str:
    limit_file = memory / "memory.limit_in_bytes"
    original = int(limit_file.read_text())
    started = d.mark("fault")
    while time.time() - started < hold:
        if not os.path.exists(f"/proc/{pid}"):
            d.timings["squeeze_to_oom_kill_s"] = d.since("fault")
            return f"OOM-killed {time.time() - started:.1f} s into the squeeze at a {int(limit_file.read_text()) // MIB} MiB limit"
        usage = int((memory / "memory.usage_in_bytes").read_text())
        try:
            limit_file.write_text(str(max(usage - 4 * MIB, 16 * MIB)))
        except OSError:  # EBUSY: nothing left to reclaim below that; sit just above it
            try:
                limit_file.write_text(str(usage + MIB // 2))
            except OSError:
                pass
        time.sleep(0.25)
    failcnt = (memory / "memory.failcnt").read_text().strip()
    usage = int((memory / "memory.usage_in_bytes").read_text()) // MIB
    return (f"still alive after {hold:.0f} s at a {int(limit_file.read_text()) // MIB} MiB limit "
            f"(usage {usage} MiB, failcnt {failcnt}, original limit {original // MIB} MiB)")


def fault(d: Drill) -> None:
    memory = d.cgroup("memory", "api1")
    pid = d.pid("api1")
    before = int((memory / "memory.usage_in_bytes").read_text()) // MIB
    log(f"api1 uses {before} MiB; squeezing its memory limit")
    outcome = squeeze(d, memory, pid, d.hold(30, 10))
    oom = (memory / "memory.oom_control").read_text().split()
    kills = oom[oom.index("oom_kill") + 1] if "oom_kill" in oom else "?"
    d.notes.append(f"api1 used {before} MiB; {outcome}; memory.oom_control oom_kill={kills}")
    log(d.notes[-1])
    d.bring_back("api1", "squeeze_to_api1_back_s")


if __name__ == "__main__":
    sys.exit(Drill("oom-api1", "api1's memory limit squeezed under load until OOM", sys.argv[1:]).run(fault))
