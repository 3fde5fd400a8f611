#!/usr/bin/env python3
"""Static security checks on the deployment files (no network, standard library only).

Fails when:
  nginx      a request for /internal/... would be proxied to the API (nginx's own location
             selection is replayed for probe paths): there must be a location that denies it
             (`deny all;` or `return 403|404;`) and does not proxy;
  compose    RabbitMQ keeps the default guest/guest account: RABBITMQ_DEFAULT_USER/PASS unset
             or `guest` (also as a `${VAR:-guest}` default), or an amqp URL with guest:guest@;
  Dockerfile the final stage runs as root: no `USER`, or `USER root`/`0` (a distroless
             `:nonroot` base image counts as non-root). A local stand-in for an official base
             image (ops/docker/*, built because no registry is reachable) says so on a line
             `# security-check: stand-in for IMAGE: WHY` and is reported as waived, with the
             reason; the root Dockerfile, the image the compose file builds, cannot waive.

Usage: ops/security-check.py [--require] [--self-test] [repo root]
A kind of file that does not exist is reported as SKIP (a failure with --require).
"""

import glob
import os
import re
import sys

PROBES = ["/internal/snapshot", "/internal/snapshot/", "/internal/x", "/internal//snapshot"]
PROXY_DIRECTIVES = ("proxy_pass", "fastcgi_pass", "grpc_pass", "uwsgi_pass", "scgi_pass")
SKIP_DIRS = {"target", ".git", "node_modules", "corpus", "artifacts"}


def find(root, patterns):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            if any(re.fullmatch(p, name) for p in patterns):
                found.append(os.path.join(dirpath, name))
    return sorted(found)


# ---------------------------------------------------------------- nginx

def nginx_blocks(text):
    """Yields (header, body) of every `{...}` block, outermost first, comments removed."""
    text = re.sub(r"#[^\n]*", "", text)
    stack, blocks = [], []
    header_start = 0
    for i, ch in enumerate(text):
        if ch == "{":
            header = text[header_start:i].strip().split(";")[-1].split("}")[-1].strip()
            stack.append((header, i + 1))
            header_start = i + 1
        elif ch == "}":
            header, start = stack.pop()
            blocks.append((header, text[start:i], len(stack)))
            header_start = i + 1
        elif ch == ";":
            header_start = i + 1
    return blocks


def own_directives(body):
    """The directives of a block itself, nested blocks removed."""
    depth, out = 0, []
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def parse_location(header):
    parts = header.split()
    if not parts or parts[0] != "location":
        return None
    if len(parts) >= 3 and parts[1] in ("=", "~", "~*", "^~"):
        return parts[1], parts[2].strip("\"'")
    return "", parts[1].strip("\"'")


def select_location(locations, uri):
    """nginx's order: exact, longest prefix (^~ stops), first regex, longest prefix."""
    for (mod, pattern), body in locations:
        if mod == "=" and uri == pattern:
            return pattern, body
    prefixes = [(p, m, b) for (m, p), b in locations if m in ("", "^~") and uri.startswith(p)]
    best = max(prefixes, key=lambda item: len(item[0]), default=None)
    if best and best[1] == "^~":
        return best[0], best[2]
    for (mod, pattern), body in locations:
        flags = re.IGNORECASE if mod == "~*" else 0
        if mod in ("~", "~*") and re.search(pattern, uri, flags):
            return pattern, body
    return (best[0], best[2]) if best else (None, "")


def denies(body):
    return bool(re.search(r"\bdeny\s+all\s*;|\breturn\s+(403|404|444)\b", body))


def check_nginx(path):
    text = open(path, encoding="utf-8").read()
    problems = []
    blocks = nginx_blocks(text)
    servers = [body for header, body, _ in blocks if header == "server"]
    for number, server in enumerate(servers, 1):
        locations = []
        for header, body, depth in nginx_blocks(server):
            parsed = parse_location(header)
            if parsed and depth == 0:
                locations.append((parsed, own_directives(body)))
        if not any(d in server for d in PROXY_DIRECTIVES):
            continue
        for uri in PROBES:
            pattern, body = select_location(locations, re.sub("/+", "/", uri))
            proxies = any(re.search(rf"\b{d}\b", body) for d in PROXY_DIRECTIVES)
            if pattern is None:
                continue
            if proxies or not denies(body):
                problems.append(f"server #{number}: {uri} is handled by `location {pattern}`, "
                                f"which {'proxies it to the API' if proxies else 'does not deny it'}")
    return problems


# ---------------------------------------------------------------- compose

def rabbit_services(text):
    """(name, service text) for each compose service whose image or build mentions rabbitmq."""
    services = re.split(r"\n(?=  [A-Za-z0-9_.-]+:\s*\n)", text)
    return [s for s in services if re.search(r"image:\s*\S*rabbitmq", s)]


def env_value(service, key):
    match = re.search(rf"{key}\s*[:=]\s*[\"']?([^\"'\n]*)", service)
    if not match:
        return None
    value = match.group(1).strip()
    default = re.fullmatch(r"\$\{[A-Za-z0-9_]+(?::?-)(.*)\}", value)
    return default.group(1) if default else value


def check_compose(path):
    text = open(path, encoding="utf-8").read()
    problems = []
    if re.search(r"amqps?://guest:guest@", text):
        problems.append("an AMQP URL uses guest:guest")
    for published in re.findall(r"-\s*[\"']?((?:[0-9.]+:)?\d+:(?:5672|15672|5552))\b", text):
        if not published.startswith("127.0.0.1:"):
            print(f"WARN compose: {os.path.basename(path)} publishes RabbitMQ port {published} on every interface")
    for service in rabbit_services(text):
        name = service.strip().split(":")[0]
        for key in ("RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS"):
            value = env_value(service, key)
            if value is None and "definitions" not in service:
                problems.append(f"service {name}: {key} unset, RabbitMQ keeps guest/guest")
            elif value == "guest":
                problems.append(f"service {name}: {key} is guest")
    return problems


# ---------------------------------------------------------------- Dockerfile

STAND_IN = re.compile(r"#\s*security-check:\s*stand-in for (\S+):\s*(\S.*)")


def stand_in(path, root):
    """(image, why) where a Dockerfile below the top level of `root` declares itself a stand-in."""
    if os.path.dirname(os.path.abspath(path)) == os.path.abspath(root):
        return None
    for line in open(path, encoding="utf-8"):
        match = STAND_IN.match(line.strip())
        if match:
            return match.group(1), match.group(2)
    return None


def check_dockerfile(path):
    lines = [line.strip() for line in open(path, encoding="utf-8") if line.strip()]
    lines = [line for line in lines if not line.startswith("#")]
    stages = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    if not stages:
        return ["no FROM instruction"]
    final = lines[stages[-1]:]
    users = [line.split(None, 1)[1].strip() for line in final if line.upper().startswith("USER ")]
    if users:
        user = users[-1].split(":")[0]
        return [f"final stage runs as {users[-1]!r}"] if user in ("root", "0") else []
    if re.search(r":nonroot\b|:debug-nonroot\b", final[0]):
        return []
    return ["final stage has no USER instruction: the container runs as root"]


# ---------------------------------------------------------------- driver

KINDS = [
    ("nginx", [r"nginx.*\.conf"], check_nginx),
    ("compose", [r"(docker-)?compose.*\.ya?ml"], check_compose),
    ("Dockerfile", [r"Dockerfile.*"], check_dockerfile),
]


def run(root, require):
    failed = False
    for kind, patterns, check in KINDS:
        files = find(root, patterns)
        if not files:
            print(f"SKIP {kind}: no file found under {root}" + (" (required)" if require else ""))
            failed |= require
            continue
        for path in files:
            problems = check(path)
            waiver = stand_in(path, root) if kind == "Dockerfile" and problems else None
            if waiver:
                print(f"ok   {kind}: {os.path.relpath(path, root)} (waived: stand-in for {waiver[0]}: {waiver[1]})")
                continue
            status = "FAIL" if problems else "ok  "
            print(f"{status} {kind}: {os.path.relpath(path, root)}")
            for problem in problems:
                print(f"       - {problem}")
            failed |= bool(problems)
    return failed


SELF_TEST = {
    "bad/nginx.conf": "http { server { listen 9999; location / { proxy_pass http://api; } } }",
    "good/nginx.conf": "http { server { location ^~ /internal/ { deny all; } location / { proxy_pass http://api; } } }",
    "bad2/nginx.conf": "http { server { location /internal/ { deny all; } location ~ snap { proxy_pass http://a; } "
                       "location / { proxy_pass http://api; } } }",
    "bad/docker-compose.yml": "services:\n  rabbitmq:\n    image: rabbitmq:3-management\n"
                              "  api:\n    environment:\n      BARDO_AMQP_URL: amqp://guest:guest@rabbitmq\n",
    "good/docker-compose.yml": "services:\n  rabbitmq:\n    image: rabbitmq:3\n    environment:\n"
                               "      RABBITMQ_DEFAULT_USER: bardo\n      RABBITMQ_DEFAULT_PASS: ${RABBIT_PASS:-s3cret}\n",
    "bad2/docker-compose.yml": "services:\n  rabbitmq:\n    image: rabbitmq:3\n    environment:\n"
                               "      - RABBITMQ_DEFAULT_USER=${RABBIT_USER:-guest}\n      - RABBITMQ_DEFAULT_PASS=x\n",
    "bad/Dockerfile": "FROM rust AS build\nUSER app\nFROM debian:stable-slim\nCOPY --from=build /b /b\n",
    "bad2/Dockerfile": "FROM debian\nUSER 0:0\n",
    "good/Dockerfile": "FROM rust AS build\nFROM gcr.io/distroless/cc-debian12\nUSER 10001:10001\n",
}


def self_test():
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        for name, text in SELF_TEST.items():
            os.makedirs(os.path.join(root, os.path.dirname(name)), exist_ok=True)
            open(os.path.join(root, name), "w", encoding="utf-8").write(text)
        checks = {"nginx.conf": check_nginx, "docker-compose.yml": check_compose, "Dockerfile": check_dockerfile}
        wrong = [name for name in SELF_TEST
                 if bool(checks[os.path.basename(name)](os.path.join(root, name))) != name.startswith("bad")]
        # The waiver: honoured below the top level only, and only with its reason.
        marker = "# security-check: stand-in for nginx:latest: the official image starts as root too\nFROM debian\n"
        for name, text, waived in [("ops/x/Dockerfile", marker, True), ("Dockerfile", marker, False),
                                   ("ops/y/Dockerfile", "# security-check: stand-in for nginx\nFROM debian\n", False)]:
            os.makedirs(os.path.join(root, os.path.dirname(name)), exist_ok=True)
            open(os.path.join(root, name), "w", encoding="utf-8").write(text)
            if bool(stand_in(os.path.join(root, name), root)) != waived:
                wrong.append(f"waiver of {name}")
    print("self-test:", "ok" if not wrong else f"FAILED on {wrong}")
    return bool(wrong)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if "--self-test" in argv and self_test():
        return 1
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    return 1 if run(root, "--require" in argv) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
