"""Shared machinery of the fault drills (ops/drills/*.py). Standard library only.

A drill: `ops/cluster up` on a fresh stream (its own run dir, ports, netns, WAN link and cgroups,
so it never touches the default cluster), Rinha-shaped load through nginx with `bardo-load`
(bodies from pessoas-payloads.tsv, a read-back of every 201, a search every 10th create, a
ledger of every answer), one fault, more load, stop, drain (every instance's `log.lag` 0 and
counts equal and stable), then the checks:

- every 201 of the ledger is `GET /bards/{id}` 200 on api1, api2 AND the replica, the same JSON
  on all three, holding what was sent (lost = acknowledged ids missing anywhere);
- `/contagem-bards` on each equals the 201s (plus creates that reached the log without a 201 —
  a connection cut or 503 whose event was nonetheless confirmed — found by search and reported);
- every `/status` digest is equal;
- no answer but 201/400/422/503 to a create, 200 (or 503: the log barrier of a miss cannot be
  appended while the broker is away) to a read-back, 200 to a search (404 to a read-back is a
  broken read-your-writes); connections refused or cut are counted apart, not answers.

Recovery times: fault -> first 201 sent after the last failed answer, and the drill's own
instance timings (restart -> answering = caught up, since an instance answers nothing before).
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import datetime
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("BARDO_SHARED_DIR", ROOT.parent / "shared"))
RINHA = SHARED / "rinha-2023-q3"

# An isolated cluster beside the default one (ops/cluster reads these).
CLUSTER_ENV = {
    "BARDO_CLUSTER_RUN": "/tmp/bardo-drills",
    "BARDO_CLUSTER_PORT": "9980",
    "BARDO_CLUSTER_API1_PORT": "9181",
    "BARDO_CLUSTER_API2_PORT": "9182",
    "BARDO_CLUSTER_NETNS": "bardo-drill",
    "BARDO_CLUSTER_WAN_IF": "bardo-dw",
    "BARDO_CLUSTER_WAN_NET": "10.78.0",
    "BARDO_CLUSTER_CGROUP": "bardo-drills",
    # With three brokers: site C's namespace and links, site A's broker node's port.
    "BARDO_CLUSTER_NETNS_C": "bardo-drill-c",
    "BARDO_CLUSTER_SITEC_NET": "10.74.0",
    "BARDO_CLUSTER_BC_NET": "10.73.0",
    "BARDO_CLUSTER_BROKER_A_PORT": "5683",
    # Snapshots often enough that a restarted instance bootstraps from one plus the tail...
    "BARDO_SNAPSHOT_EVERY_SECONDS": "1",
    # ...and a retention so small that the broker removes the log's head during every drill:
    # each drill then proves that nothing acknowledged is lost when retention cuts (an instance
    # restarted after the cut, or one that fell behind it, takes a snapshot covering it).
    "BARDO_STREAM_MAX_BYTES": str(96 << 10),
    "BARDO_STREAM_SEGMENT_BYTES": str(16 << 10),
}
for _key, _value in CLUSTER_ENV.items():
    os.environ.setdefault(_key, _value)
ENV = os.environ.copy()
RUN = Path(ENV["BARDO_CLUSTER_RUN"])
NGINX = f"http://127.0.0.1:{ENV['BARDO_CLUSTER_PORT']}"
INSTANCES = {
    "api1": f"http://127.0.0.1:{ENV['BARDO_CLUSTER_API1_PORT']}",
    "api2": f"http://127.0.0.1:{ENV['BARDO_CLUSTER_API2_PORT']}",
    "replica": f"http://{ENV['BARDO_CLUSTER_WAN_NET']}.2:9999",
}
SITE_B = f"http://{ENV['BARDO_CLUSTER_WAN_NET']}.2:9999"  # site B's nginx (three brokers)
CREATE_OK = {201, 400, 422, 503}
FAILED = {0, 502, 503, 504}  # answers (or their absence) that mean "the service failed this one"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- HTTP
_local = threading.local()


def request(base: str, path: str, timeout: float = 10) -> tuple[int, bytes]:
    """GET with one kept-alive connection per thread and base; (0, error) when no answer."""
    conns = _local.__dict__.setdefault("conns", {})
    for attempt in range(2):
        conn = conns.get(base)
        if conn is None:
            url = urllib.parse.urlsplit(base)
            conn = conns[base] = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            conn.close()
            conns.pop(base, None)
            if attempt == 1:
                return 0, str(error).encode()
    raise AssertionError("unreachable")


def status(base: str) -> dict | None:
    code, body = request(base, "/status", timeout=5)
    return json.loads(body) if code == 200 else None


# ---------------------------------------------------------------- the drill
class Drill:
    def __init__(self, name: str, title: str, argv: list[str] | None = None, brokers: int = 1):
        parser = argparse.ArgumentParser(description=title)
        parser.add_argument("--fast", action="store_true", help="a few seconds of load (test command)")
        parser.add_argument("--rate", type=int, default=None,
                            help="creates per second (200, three brokers 300; --fast 100)")
        parser.add_argument("--before", type=float, default=None, help="seconds of load before the fault")
        parser.add_argument("--after", type=float, default=None, help="seconds of load after the recovery")
        parser.add_argument("--hold", type=float, default=None, help="seconds the fault lasts (drill-specific)")
        parser.add_argument("--out", type=Path, default=None, help="write the result JSON here")
        self.args = parser.parse_args(argv)
        fast = self.args.fast
        self.name, self.title = name, title
        # The three-broker drills run at the rate their targets are set for (issue 12: 300/s).
        self.rate = self.args.rate or (100 if fast else 300 if brokers == 3 else 200)
        self.before = self.args.before if self.args.before is not None else (3 if fast else 10)
        self.after = self.args.after if self.args.after is not None else (3 if fast else 20)
        self.marks: dict[str, float] = {}
        self.timings: dict[str, float] = {}
        self.notes: list[str] = []
        self.failures: list[str] = []
        self.ledger = RUN / f"{name}.ledger.jsonl"
        self.stop_file = RUN / f"{name}.stop"
        self.load: subprocess.Popen | None = None
        self.load_summary: dict = {}
        self.ledgers: list[Path] = []
        # Three brokers: site B's nginx answers on the replica's old address, the replica on :9998.
        self.brokers = brokers
        if brokers == 3:
            INSTANCES["replica"] = f"http://{ENV['BARDO_CLUSTER_WAN_NET']}.2:9998"

    def hold(self, full: float, fast: float) -> float:
        return self.args.hold if self.args.hold is not None else (fast if self.args.fast else full)

    # ------------------------------------------------------------ cluster
    def cluster(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(["bash", str(ROOT / "ops/cluster"), *args], env=ENV, cwd=ROOT,
                              capture_output=True, text=True)
        if check and done.returncode != 0:
            sys.stdout.write(done.stdout + done.stderr)
            raise RuntimeError(f"ops/cluster {' '.join(args)} failed ({done.returncode})")
        return done

    def pid(self, service: str) -> int:
        """The bardo process of a service (the pid file may name a wrapper, e.g. ip netns exec)."""
        pid = int((RUN / f"{service}.pid").read_text())
        for _ in range(5):
            try:
                if os.readlink(f"/proc/{pid}/exe").endswith("/bardo"):
                    return pid
            except OSError:
                return pid
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            if not children:
                return pid
            pid = int(children[0])
        return pid

    def cgroup(self, controller: str, service: str) -> Path:
        for line in (RUN / "cgroups").read_text().splitlines():
            ctl, base = line.split(" ", 1)
            if ctl == controller:
                return Path(base) / service
        raise RuntimeError(f"no {controller} cgroup")

    # ------------------------------------------------------------ three brokers
    def stream_roles(self) -> dict:
        """From `ops/cluster leader`: {"leader": "a"|"b"|"c"|None, "online"/"offline": the stream's
        members (management statistics, up to 30 s old), "running"/"down": the cluster's nodes
        (live)}."""
        roles: dict = {"leader": None, "online": [], "offline": [], "running": [], "down": []}
        for line in self.cluster("leader", check=False).stdout.splitlines():
            words = line.split()
            node = words[1].split("@")[0][-1] if len(words) > 1 and "@" in words[1] else None
            if words[:1] == ["leader"]:
                roles["leader"] = node
            elif words[:1] in (["member"], ["node"]) and node and len(words) > 2:
                roles[words[2]].append(node)
        return roles

    def wait_running(self, node: str, timeout: float = 120) -> float | None:
        """Seconds until the cluster counts `node` as running again; None on timeout."""
        started = time.time()
        while time.time() - started < timeout:
            if node in self.stream_roles()["running"]:
                return round(time.time() - started, 2)
            time.sleep(0.5)
        self.failures.append(f"broker {node} did not rejoin the cluster within {timeout:.0f} s")
        return None

    def node_end_offsets(self, nodes: str = "abc", patience: float = 60) -> dict:
        """The log's end as each broker node's own copy of the stream shows it (`bardo replay`
        reading through that node alone); equal ends mean every node caught up. A node's copy
        may still be resyncing after a restart: asked again for up to `patience` seconds."""
        stream = (RUN / "stream").read_text().strip()
        started, ends = time.time(), {}
        while True:
            for node in nodes:
                url = self.cluster("url", node).stdout.strip()
                done = subprocess.run([str(ROOT / "target/release/bardo"), "replay", "--json", "--stream",
                                       stream, "--amqp-url", url], capture_output=True, text=True, timeout=120)
                replay = json.loads(done.stdout) if done.stdout.strip() else {}
                ends[node] = replay.get("end_offset_at_start")
            if (len(set(ends.values())) == 1 and None not in ends.values()) or time.time() - started > patience:
                break
            time.sleep(2)
        self.timings["broker_copies_equal_after_s"] = round(time.time() - started, 1)
        self.notes.append("each broker node's copy of the stream ends at offset "
                          + ", ".join(f"{node}: {end}" for node, end in ends.items()))
        if len(set(ends.values())) != 1 or None in ends.values():
            self.failures.append(f"the broker nodes' copies of the stream end at different offsets: {ends}")
        return ends

    def keep_logs(self) -> None:
        """Copies the cluster's logs beside the drill's result (the next drill's `up` replaces them)."""
        target = RUN / "results" / f"{self.name}-logs"
        target.mkdir(parents=True, exist_ok=True)
        for path in RUN.glob("*.log"):
            shutil.copy(path, target / path.name)

    def extra(self, entries: list[dict]) -> dict:
        """Drill-specific results, computed from the ledger after the checks."""
        return {}

    def mark(self, name: str) -> float:
        self.marks[name] = time.time()
        log(f"mark {name}")
        return self.marks[name]

    def since(self, mark: str) -> float:
        return round(time.time() - self.marks[mark], 2)

    def restart(self, service: str) -> float:
        """ops/cluster restart SERVICE; returns seconds until it answered (= caught up)."""
        started = time.time()
        out = self.cluster("restart", service)
        took = round(time.time() - started, 2)
        log(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else f"{service} restarted")
        logfile = RUN / f"{service}.log"
        text = logfile.read_text(errors="replace") if logfile.exists() else ""
        if "snapshot loaded" in text:
            source = "an API's" if service == "replica" else "a"
            self.notes.append(f"{service} bootstrapped from {source} snapshot + tail")
        elif "no snapshot yet" in text or "applying the log from its first record" in text:
            self.notes.append(f"{service} rebuilt from the log's first record")
        return took

    def bring_back(self, service: str, back_key: str) -> None:
        """Restarts `service` after the fault; records how long it took to answer, to be back since
        the fault (under `back_key`), and to catch up with the log."""
        self.timings["restart_answering_s"] = self.restart(service)
        self.timings[back_key] = self.since("fault")
        self.mark("recovered")
        self.timings[f"{service}_lag0_after_restart_s"] = self.wait_caught_up(service)

    def wait_caught_up(self, instance: str, timeout: float = 180) -> float | None:
        """Seconds until the instance has applied the log up to the end another instance sees
        now (under load `log.lag` is rarely 0 at one instant); None on timeout."""
        started, target = time.time(), None
        while time.time() - started < timeout:
            for name, base in INSTANCES.items():
                if target is None and name != instance:
                    target = ((status(base) or {}).get("log") or {}).get("end_offset")
            s = status(INSTANCES[instance])
            if target is not None and s and s.get("log", {}).get("next_offset", -1) >= target:
                return round(time.time() - started, 2)
            time.sleep(0.2)
        self.failures.append(f"{instance} did not catch up within {timeout:.0f} s")
        return None

    # ------------------------------------------------------------ load
    def start_load(self, target: str = NGINX) -> None:
        """Load through `target`; a second call (after stop_load) writes a ledger of its own."""
        self.stop_file.unlink(missing_ok=True)
        ledger = self.ledger.with_suffix(f".{len(self.ledgers)}.jsonl")
        ledger.unlink(missing_ok=True)
        self.ledgers.append(ledger)
        binary = ROOT / "target/release/bardo-load"
        command = [str(binary), "--target", target, "--rate", str(self.rate), "--seconds", "3600",
                   "--workers", "64", "--read-back", "--search-every", "10", "--timeout-ms", "5000",
                   "--ledger", str(ledger), "--stop-file", str(self.stop_file),
                   "--first-slot", str(self.load_summary.get("creates", 0)),
                   "--payloads", str(RINHA / "pessoas-payloads.tsv"), "--terms", str(RINHA / "termos-busca.tsv")]
        self.load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self.mark("load")

    def stop_load(self) -> None:
        """Stops the running load; the summary adds up every load of the drill."""
        self.stop_file.touch()
        out, _ = self.load.communicate(timeout=60)
        self.mark("load_stopped")
        summary = json.loads(out.strip().splitlines()[-1])
        log(f"load: {summary['creates']} creates in {summary['seconds']:.1f} s, "
            f"statuses {summary['statuses_by_kind']}")
        total = self.load_summary
        self.load_summary = {"creates": total.get("creates", 0) + summary["creates"],
                             "seconds": total.get("seconds", 0) + summary["seconds"]}

    # ------------------------------------------------------------ drain and checks
    def drain(self, timeout: float = 240) -> None:
        started, previous = time.time(), None
        while time.time() - started < timeout:
            statuses = {name: status(base) for name, base in INSTANCES.items()}
            ok = all(s and s.get("log", {}).get("lag") == 0 for s in statuses.values())
            counts = tuple(s["counts"]["bards"] for s in statuses.values()) if ok else None
            if ok and len(set(counts)) == 1 and counts == previous:
                self.timings["drain_s"] = round(time.time() - started, 2)
                log(f"drained: {counts[0]} bards everywhere, lag 0")
                return
            previous = counts
            time.sleep(0.5)
        self.failures.append(f"the log did not drain within {timeout:.0f} s")

    def retention(self) -> dict:
        """Where the retained log starts now (`bardo replay --json`): a drill whose log was never
        cut proves nothing about retention, and fails. Also notes instances that found the log
        cut ahead of them and restarted in place from a snapshot."""
        user = ENV.get("BARDO_RABBITMQ_USER", "bardo")
        password = ENV.get("BARDO_RABBITMQ_PASSWORD", "bardo-local-only")
        stream = (RUN / "stream").read_text().strip()
        url = f"amqp://{user}:{password}@127.0.0.1:5672/%2f"
        if self.brokers == 3:  # site B's list: it outlives the loss of site A
            url = self.cluster("urls", "b").stdout.strip()
        done = subprocess.run([str(ROOT / "target/release/bardo"), "replay", "--json", "--stream", stream,
                               "--amqp-url", url],
                              capture_output=True, text=True, timeout=120)
        replay = json.loads(done.stdout) if done.stdout.strip() else {}
        first, end = replay.get("retained_from"), replay.get("end_offset_at_start")
        if not first:
            self.failures.append(f"retention never cut the log (it starts at {first}): nothing proven")
        else:
            self.notes.append(f"retention removed offsets 0..{first} of {end}")
        for service in INSTANCES:
            logfile = RUN / f"{service}.log"
            text = logfile.read_text(errors="replace") if logfile.exists() else ""
            restarts = text.count("restarting this process to bootstrap from a snapshot")
            if restarts:
                self.notes.append(f"{service} found the log cut ahead of it and restarted in place "
                                  f"{restarts}x from a snapshot")
        return {"retained_from": first, "end_offset": end}

    def read_ledger(self) -> list[dict]:
        entries = []
        for ledger in self.ledgers:
            with open(ledger) as file:
                entries.extend(json.loads(line) for line in file if line.strip())
        return entries

    def check(self, entries: list[dict]) -> dict:
        creates = [e for e in entries if e["kind"] == "create"]
        acked = {e["id"]: e for e in creates if e["status"] == 201}
        payloads = (RINHA / "pessoas-payloads.tsv").read_text().splitlines()[1:]
        lost, mismatched = self.check_reads(acked, payloads)
        unacked = self.committed_without_201(creates, acked)
        counts = {name: request(base, "/contagem-bards")[1].decode().strip() for name, base in INSTANCES.items()}
        digests = {name: (status(base) or {}).get("digest") for name, base in INSTANCES.items()}
        expected = len(acked) + len(unacked)
        for name, count in counts.items():
            if count != str(expected):
                self.failures.append(f"{name} counts {count}, expected {expected} ({len(acked)} x 201 "
                                     f"+ {len(unacked)} committed without a 201)")
        if len(set(digests.values())) != 1 or None in digests.values():
            self.failures.append(f"digests differ: {digests}")
        if lost:
            self.failures.append(f"{len(lost)} acknowledged bards lost, e.g. {lost[:3]}")
        if mismatched:
            self.failures.append(f"{len(mismatched)} bards answered differently, e.g. {mismatched[:2]}")
        answered_503 = [apelido for apelido, status in unacked if status == 503]
        if answered_503:
            # The service said "not stored" and stored it: promise 2 (count = 201s) broken by us.
            self.failures.append(f"{len(answered_503)} creates answered 503 yet stored, e.g. {answered_503[:3]}")
        if len(unacked) > len(answered_503):
            self.notes.append(f"{len(unacked) - len(answered_503)} creates reached the log with no answer "
                              "(the instance died mid-request: nginx 502 or a cut connection)")
        return {"acknowledged": len(acked), "lost": len(lost), "mismatched": len(mismatched),
                "committed_without_201": len(unacked), "counts": counts, "digests": digests,
                "digests_equal": len(set(digests.values())) == 1}

    def check_reads(self, acked: dict, payloads: list[str]) -> tuple[list, list]:
        def read(entry: dict) -> tuple[str, str | None, str | None]:
            answers = {name: request(base, f"/bards/{entry['id']}") for name, base in INSTANCES.items()}
            missing = [f"{name}:{code}" for name, (code, _) in answers.items() if code != 200]
            if missing:
                return entry["id"], f"{entry['id']} {missing}", None
            bodies = {name: json.loads(body) for name, (_, body) in answers.items()}
            sent = json.loads(payloads[entry["n"] % len(payloads)])
            first = next(iter(bodies.values()))
            same = all(b == first for b in bodies.values())
            matches = all(first.get(k) == sent.get(k) for k in ("apelido", "nome", "nascimento", "stack"))
            return entry["id"], None, None if same and matches and first.get("id") == entry["id"] else entry["id"]

        with futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(read, acked.values()))
        return [r[1] for r in results if r[1]], [r[2] for r in results if r[2]]

    def committed_without_201(self, creates: list[dict], acked: dict) -> list[tuple[str, int]]:
        """Creates without a 201 (no answer, 5xx) whose apelido is nonetheless stored, with the
        status they got."""
        acked_apelidos = {e["apelido"] for e in acked.values()}
        candidates = {e["apelido"]: e["status"] for e in creates
                      if e["status"] in FAILED and e["apelido"] and e["apelido"] not in acked_apelidos}
        found = []
        for apelido, answered in sorted(candidates.items()):
            code, body = request(next(iter(INSTANCES.values())), "/bards?t=" + urllib.parse.quote(apelido))
            if code == 200 and any(b.get("apelido") == apelido for b in json.loads(body)):
                found.append((apelido, answered))
        return found

    def statuses(self, entries: list[dict]) -> dict:
        # A read-back may meet 503 while the broker is away: a miss must pass a log barrier, which
        # cannot be appended then (reported in the table; a 404 would break read-your-writes).
        allowed = {"create": CREATE_OK, "read": {200, 503}, "search": {200}}
        seen: dict[str, dict[str, int]] = {}
        unexpected: dict[str, int] = {}
        # nginx's 502 for a request whose upstream died under it (kill -9, OOM) is the proxy's word
        # for a cut connection: counted with them, but only inside the fault window.
        start = (self.marks.get("fault", 0) - 2) * 1000
        end = (self.marks.get("recovered", self.marks.get("fault", 0)) + 2) * 1000
        cut = 0
        for e in entries:
            seen.setdefault(e["kind"], {}).setdefault(str(e["status"]), 0)
            seen[e["kind"]][str(e["status"])] += 1
            if e["status"] == 502 and start <= e["t"] <= end:
                cut += 1
            elif e["status"] != 0 and e["status"] not in allowed[e["kind"]]:
                key = f"{e['kind']} {e['status']}"
                unexpected[key] = unexpected.get(key, 0) + 1
        if unexpected:
            self.failures.append(f"unexpected answers: {unexpected}")
        return {"seen": seen, "unexpected": unexpected, "nginx_502_in_fault_window": cut,
                "connection_errors": sum(1 for e in entries if e["status"] == 0) + cut}

    def recovery(self, entries: list[dict]) -> dict:
        """Fault -> first 201 sent after the last failed answer (no answer, 502/503/504)."""
        fault = self.marks.get("fault")
        if fault is None:
            return {}
        fault_ms = fault * 1000
        after = sorted((e for e in entries if e["kind"] == "create" and e["t"] >= fault_ms - 10_000),
                       key=lambda e: e["t"])
        failed = [e for e in after if e["status"] in FAILED]
        last_failed = failed[-1]["t"] if failed else fault_ms
        first_ok = next((e["t"] for e in after if e["status"] == 201 and e["t"] > last_failed), None)
        answered_201 = sorted(e["t"] + e["ms"] for e in after if e["status"] == 201)
        gaps = [(b - a) / 1000 for a, b in zip(answered_201, answered_201[1:]) if b >= fault_ms]
        return {"failed_creates": len(failed),
                # The longest stretch, from the fault on, in which no 201 arrived.
                "longest_gap_without_201_s": round(max(gaps, default=0), 2),
                "failed_window_s": round((failed[-1]["t"] - failed[0]["t"]) / 1000, 2) if failed else 0,
                "first_201_s": round((first_ok - fault_ms) / 1000, 2) if first_ok else None}

    # ------------------------------------------------------------ run
    def run(self, fault) -> int:
        log(f"drill {self.name}: {self.title} ({'fast' if self.args.fast else 'full'}, {self.rate} creates/s)")
        RUN.mkdir(parents=True, exist_ok=True)
        result: dict = {"drill": self.name, "title": self.title, "fast": self.args.fast, "rate": self.rate,
                        "date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": commit()}
        started = time.time()
        try:
            self.cluster("down", check=False)
            self.cluster("up", "--brokers", str(self.brokers))
            self.start_load()
            time.sleep(self.before)
            fault(self)
            time.sleep(self.after)
            self.stop_load()
            self.drain()
            entries = self.read_ledger()
            result.update(self.check(entries))
            result["retention"] = self.retention()
            result["statuses"] = self.statuses(entries)
            result["recovery"] = self.recovery(entries)
            result.update(self.extra(entries))
        except Exception as error:  # noqa: BLE001 - a drill reports whatever broke
            self.failures.append(f"{type(error).__name__}: {error}")
        finally:
            if self.load and self.load.poll() is None:
                self.stop_file.touch()
                try:
                    self.load.wait(30)
                except subprocess.TimeoutExpired:
                    self.load.kill()
            self.keep_logs()
            if not os.environ.get("BARDO_DRILL_KEEP"):
                self.cluster("down", check=False)
        result.update({"load_seconds": round(self.load_summary.get("seconds", 0), 1),
                       "creates_sent": self.load_summary.get("creates", 0), "timings": self.timings,
                       "notes": self.notes, "failures": self.failures, "passed": not self.failures,
                       "wall_s": round(time.time() - started, 1)})
        text = json.dumps(result, indent=2)
        print(text)
        if self.args.out:
            self.args.out.write_text(text)
        log(f"drill {self.name}: {'PASS' if not self.failures else 'FAIL ' + '; '.join(self.failures)}")
        return 0 if not self.failures else 1


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def sigkill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
