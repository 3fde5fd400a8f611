"""Black-box contract test harness for bardo (see /work/shared/SPEC.md).

Standard library only. The server under test is BARDO_URL (default http://127.0.0.1:9999).
Every request opens a new connection, as the tournament's Gatling users do.
If the server cannot be reached every test errors out: there are no skips.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import string
import threading
import time
import urllib.parse

import pytest

BASE_URL = os.environ.get("BARDO_URL", "http://127.0.0.1:9999").rstrip("/")
TIMEOUT_S = float(os.environ.get("BARDO_TIMEOUT_S", "10"))

PREFIXES = ("/bards", "/pessoas", "/BardAGI")
COUNT_PATHS = ("/contagem-bards", "/contagem-pessoas", "/contagem-BardAGI")


class Response:
    def __init__(self, status: int, headers, body: bytes, elapsed: float):
        self.status = status
        self._headers = {}
        for k, v in headers:
            self._headers.setdefault(k.lower(), v)
        self.body = body
        self.elapsed = elapsed

    def header(self, name: str, default=None):
        return self._headers.get(name.lower(), default)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError(
                f"response is not JSON ({e}); status {self.status}, body {self.body[:300]!r}") from e

    def __repr__(self) -> str:
        return f"<{self.status} {self.header('content-type')} {self.body[:300]!r}>"


class Api:
    """A tiny HTTP client: one connection per request, no retries, no redirects."""

    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"BARDO_URL must be http(s)://host:port, got {base_url!r}")
        self.base_url = base_url
        self.scheme = parts.scheme
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")

    def _conn(self):
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=TIMEOUT_S)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> Response:
        """path is sent verbatim (already percent-encoded)."""
        hdrs = {"Accept": "*/*"}
        if headers:
            hdrs.update(headers)
        conn = self._conn()
        started = time.monotonic()
        try:
            send_error = None
            try:
                conn.request(method, self.base_path + path, body=body, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError) as e:
                # A server may answer (413) and close before reading a large body; the response
                # can still be waiting in our receive buffer.
                send_error = e
            try:
                resp = conn.getresponse()
            except (http.client.HTTPException, OSError) as e:
                if send_error is not None:
                    raise AssertionError(
                        f"{method} {path}: connection broken while sending ({send_error!r}) "
                        f"and no response could be read ({e!r})") from e
                raise
            data = resp.read()
            return Response(resp.status, resp.getheaders(), data, time.monotonic() - started)
        finally:
            conn.close()

    # -- conveniences -------------------------------------------------------------------------
    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_json(self, path: str, obj) -> Response:
        return self.post_raw(path, json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def post_raw(self, path: str, raw: bytes, content_type: str = "application/json") -> Response:
        return self.request("POST", path, body=raw, headers={"Content-Type": content_type})

    def search(self, prefix: str, term: str) -> Response:
        return self.get(f"{prefix}?t={urllib.parse.quote(term, safe='')}")

    def count(self, path: str = "/contagem-bards") -> int:
        r = self.get(path)
        assert r.status == 200, f"GET {path}: {r!r}"
        text = r.body.decode("ascii", errors="replace").strip()
        assert text.isdigit(), f"GET {path}: body is not an integer: {r.body!r}"
        return int(text)


class Uniq:
    """Apelidos and search tokens unique to this run (the suite must be re-runnable against one
    long-lived server)."""

    def __init__(self):
        rnd = random.SystemRandom()
        self._rnd = rnd
        self.run_id = "".join(rnd.choice(string.ascii_lowercase) for _ in range(6))
        self._n = 0
        self._lock = threading.Lock()

    def letters(self, n: int) -> str:
        return "".join(self._rnd.choice(string.ascii_lowercase) for _ in range(n))

    def pick(self, alphabet: str, n: int) -> str:
        return "".join(self._rnd.choice(alphabet) for _ in range(n))

    def apelido(self, length: int = 22) -> str:
        """Unique, ASCII letters and digits, exactly `length` chars (12..32)."""
        assert 12 <= length <= 32
        with self._lock:
            self._n += 1
            n = self._n
        base = f"c{self.run_id}{n:05d}"
        return base + self.letters(length - len(base))

    def token(self, n: int = 12) -> str:
        """A lowercase letters-only token, for search terms; ~26**n possibilities."""
        return self.letters(n)


@pytest.fixture(scope="session")
def api() -> Api:
    client = Api(BASE_URL)
    try:
        r = client.get("/status")
    except Exception as e:  # noqa: BLE001 - any failure to connect must be loud
        pytest.fail(f"bardo is not reachable at {BASE_URL} (set BARDO_URL): {e!r}", pytrace=False)
    if r.status != 200:
        pytest.fail(f"bardo at {BASE_URL}: GET /status answered {r!r}", pytrace=False)
    return client


@pytest.fixture(scope="session")
def uniq() -> Uniq:
    return Uniq()


def pytest_report_header(config):
    return f"bardo contract tests against BARDO_URL={BASE_URL}"
