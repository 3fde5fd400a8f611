#!/usr/bin/env python3
"""One sample of the native cluster (ops/cluster), as one JSON object on stdout: per service
its cgroup memory (usage, peak, limit, rss and cache from memory.stat) and the RSS of its
processes; the stream's bytes on the broker's disk; and from each instance's /status its count,
applied offset and memory breakdown. bardo-fill runs it at every report (--sample-cmd)."""
import glob
import json
import os
import sys
import urllib.request

RUN = os.environ.get("BARDO_CLUSTER_RUN", "/tmp/bardo-cluster")
INSTANCES = {
    "api1": f"http://127.0.0.1:{os.environ.get('BARDO_CLUSTER_API1_PORT', '9111')}",
    "api2": f"http://127.0.0.1:{os.environ.get('BARDO_CLUSTER_API2_PORT', '9112')}",
    "replica": f"http://{os.environ.get('BARDO_CLUSTER_WAN_NET', '10.77.0')}.2:9999",
}


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def memory_dir():
    for line in (read(f"{RUN}/cgroups") or "").splitlines():
        controller, path = line.split(" ", 1)
        if controller == "memory":
            return path
    return None


def rss_of(pids):
    total = 0
    for pid in pids:
        for line in (read(f"/proc/{pid}/status") or "").splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def service(base, name):
    group = f"{base}/{name}"
    stat = dict(line.split() for line in (read(f"{group}/memory.stat") or "").splitlines())
    pids = (read(f"{group}/cgroup.procs") or "").split()
    number = lambda f: int((read(f"{group}/{f}") or "0").strip() or 0)
    return {
        "usage": number("memory.usage_in_bytes"),
        "peak": number("memory.max_usage_in_bytes"),
        "limit": number("memory.limit_in_bytes"),
        "rss": int(stat.get("total_rss", 0)),
        "cache": int(stat.get("total_cache", 0)),
        "process_rss": rss_of(pids),
        "alive": bool(pids),
    }


def stream_bytes():
    stream = (read(f"{RUN}/stream") or "").strip()
    if not stream:
        return None
    total = 0
    for directory in glob.glob(f"/var/lib/rabbitmq/mnesia/*/stream/__{stream.replace('.', '_')}_*"):
        for root, _, files in os.walk(directory):
            total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def status(url):
    try:
        with urllib.request.urlopen(f"{url}/status", timeout=10) as response:
            s = json.load(response)
    except Exception as error:  # a dead instance is a fact to report, not a crash
        return {"error": str(error)}
    return {"bards": s.get("counts", {}).get("bards"), "next_offset": s.get("log", {}).get("next_offset"),
            "memory": s.get("memory"), "peers": s.get("peers")}


def main():
    base = memory_dir()
    if base is None:
        print(json.dumps({"error": f"no cluster at {RUN} (ops/cluster up)"}))
        return 1
    services = {name: service(base, name) for name in ("nginx", "api1", "api2", "rabbitmq", "replica")}
    instances = {name: status(url) for name, url in INSTANCES.items()}
    print(json.dumps({"services": services, "stream_bytes": stream_bytes(), "instances": instances}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
