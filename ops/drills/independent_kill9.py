#!/usr/bin/env python3
"""An independent kill -9 check (written apart from drilllib.py, sharing no code with it): default native cluster, bardo-load with a ledger
through nginx, kill -9 api2 mid-load, restart it, then verify every 201 on api1, api2 and the
replica with curl-like GETs, counts == 201s, digests equal."""
import json, os, signal, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("BARDO_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
sh = lambda *a: subprocess.run(a, cwd=ROOT, check=True, capture_output=True, text=True).stdout
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r: return r.status, r.read()
    except urllib.error.HTTPError as e: return e.code, e.read()

sh("ops/cluster", "down"); sh("ops/cluster", "up")
bases = {"api1": "http://127.0.0.1:9111", "api2": "http://127.0.0.1:9112", "replica": "http://10.77.0.2:9999"}
ledger = "/tmp/bardo-independent-kill9.jsonl"
load = subprocess.Popen([f"{ROOT}/target/release/bardo-load", "--target", "http://127.0.0.1:9999", "--rate", "300",
    "--seconds", "40", "--payloads", os.path.join(SHARED, "rinha-2023-q3", "pessoas-payloads.tsv"), "--ledger", ledger],
    stdout=subprocess.PIPE, text=True)
time.sleep(15)
pid = int(sh("ops/cluster", "pid", "api2").split()[0])
os.kill(pid, signal.SIGKILL); killed = time.time()
print(f"kill -9 api2 (pid {pid}) at t=15 s")
time.sleep(3)
sh("ops/cluster", "restart", "api2"); print(f"api2 back after {time.time() - killed:.2f} s (caught up)")
summary = load.communicate()[0].strip().splitlines()[-1]
print("load:", summary[:300])
time.sleep(3)
entries = [json.loads(l) for l in open(ledger) if l.strip()]
acked = [e for e in entries if e.get("kind") == "create" and e.get("status") == 201]
statuses = {}
for e in entries: statuses[(e.get("kind"), e.get("status"))] = statuses.get((e.get("kind"), e.get("status")), 0) + 1
missing = [(n, e["id"]) for e in acked for n, b in bases.items() if get(f"{b}/bards/{e['id']}")[0] != 200]
counts = {n: get(f"{b}/contagem-bards")[1].decode() for n, b in bases.items()}
digests = {n: json.loads(get(f"{b}/status")[1])["digest"] for n, b in bases.items()}
print(f"201s {len(acked)}; statuses {statuses}")
print(f"missing reads {len(missing)} {missing[:3]}; counts {counts}; digests {digests}")
ok = not missing and all(c == str(len(acked)) for c in counts.values()) and len(set(digests.values())) == 1
sh("ops/cluster", "down")
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
