"""Per-client rate limits on the expensive endpoints: token buckets kept in this process.

Each client address has one bucket per kind of request: ``trace`` (POST /api/v1/trace,
POST /api/v1/gradients, opening the /api/v1/step WebSocket) and ``upload`` (POST
/api/v1/models). A bucket holds at most ``burst`` tokens and refills at ``per_s`` tokens a
second; a request takes one token or is answered 429 with ``Retry-After``. One worker keeps
its buckets in memory; the workers of one server share theirs through a small SQLite file
(``rate_limit_state_file``, which ``gatescope serve`` sets up for more than one worker), so a
client gets the configured rate whichever worker its connections reach. Off by default
(``make run``); the Docker image turns it on with GATESCOPE_RATE_LIMIT_ENABLED=true.
"""

import logging
import math
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings

TRACE_PATHS = ("/api/v1/trace", "/api/v1/gradients")
UPLOAD_PATH = "/api/v1/models"
STEP_PATH = "/api/v1/step"


@dataclass
class Bucket:
    tokens: float
    stamp: float


@dataclass(frozen=True)
class Rate:
    per_s: float
    burst: int


class TokenBuckets:
    """Token buckets keyed by (client, kind), forgetting the least recently seen beyond a cap."""

    def __init__(
        self,
        rates: dict[str, Rate],
        max_clients: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates, self.max_clients, self.clock = rates, max_clients, clock
        self._buckets: OrderedDict[tuple[str, str], Bucket] = OrderedDict()

    def take(self, client: str, kind: str) -> float:
        """Takes a token; returns 0.0 when allowed, else the seconds until one is available."""
        rate = self.rates[kind]
        now = self.clock()
        key = (client, kind)
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = Bucket(float(rate.burst), now)
        bucket.tokens = min(float(rate.burst), bucket.tokens + (now - bucket.stamp) * rate.per_s)
        bucket.stamp = now
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate.per_s

    def __len__(self) -> int:
        return len(self._buckets)


class SharedTokenBuckets:
    """TokenBuckets kept in an SQLite file that every worker of a server opens.

    Each take is one short write transaction (WAL, no fsync: the state is worth nothing after
    a restart). CLOCK_MONOTONIC is the same clock in every process of the machine, so the
    stamps compare across workers. If the file cannot be opened or used, the error is logged
    and this process falls back to buckets of its own: a broken file must neither take the
    service down nor lift the limit.
    """

    def __init__(
        self,
        rates: dict[str, Rate],
        max_clients: int,
        path: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates, self.max_clients, self.clock = rates, max_clients, clock
        self._lock = threading.Lock()
        self._takes = 0
        self.fallback: TokenBuckets | None = None
        try:
            db = sqlite3.connect(path, timeout=1.0, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(
                "CREATE TABLE IF NOT EXISTS buckets (client TEXT, kind TEXT, tokens REAL, "
                "stamp REAL, PRIMARY KEY (client, kind)) WITHOUT ROWID"
            )
            self._db = db
        except sqlite3.Error as err:
            self._fall_back(f"cannot open {path}: {err}")

    def _fall_back(self, why: str) -> None:
        log = logging.getLogger("gatescope.ratelimit")
        log.error("rate limit state: %s; this worker keeps its own buckets", why)
        self.fallback = TokenBuckets(self.rates, self.max_clients, self.clock)

    def take(self, client: str, kind: str) -> float:
        """Takes a token; returns 0.0 when allowed, else the seconds until one is available."""
        if self.fallback is None:
            try:
                with self._lock:
                    return self._take(client, kind, self.rates[kind])
            except sqlite3.Error as err:
                self._fall_back(str(err))
        assert self.fallback is not None
        return self.fallback.take(client, kind)

    def _take(self, client: str, kind: str, rate: Rate) -> float:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            now = self.clock()
            row = db.execute(
                "SELECT tokens, stamp FROM buckets WHERE client = ? AND kind = ?", (client, kind)
            ).fetchone()
            tokens = float(rate.burst) if row is None else row[0] + (now - row[1]) * rate.per_s
            tokens = min(float(rate.burst), tokens)
            if tokens >= 1.0:
                tokens, wait = tokens - 1.0, 0.0
            else:
                wait = (1.0 - tokens) / rate.per_s
            db.execute(
                "INSERT OR REPLACE INTO buckets VALUES (?, ?, ?, ?)", (client, kind, tokens, now)
            )
            self._takes += 1
            if self._takes % 1000 == 0:  # forget the least recently seen beyond the cap
                db.execute(
                    "DELETE FROM buckets WHERE stamp <= (SELECT stamp FROM buckets "
                    "ORDER BY stamp DESC LIMIT 1 OFFSET ?)",
                    (self.max_clients,),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return wait

    def __len__(self) -> int:
        if self.fallback is not None:
            return len(self.fallback)
        return int(self._db.execute("SELECT COUNT(*) FROM buckets").fetchone()[0])


def request_kind(scope: Scope) -> str | None:
    """Which bucket a request draws from, or None for requests that are not limited."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    path = path.rstrip("/")
    if scope["type"] == "websocket":
        return "trace" if path == STEP_PATH else None
    if scope["type"] != "http" or scope.get("method") != "POST":
        return None
    if path in TRACE_PATHS:
        return "trace"
    if path == UPLOAD_PATH:
        return "upload"
    return None


def too_many_body(kind: str, rate: Rate, wait: float) -> bytes:
    what = "trace and gradient requests" if kind == "trace" else "model uploads"
    message = (
        f"too many {what} from this client: the limit is {rate.per_s:g} per second "
        f"(bursts of {rate.burst}); retry in {wait:.3g} s"
    )
    detail = {"field": kind, "retry_after_s": round(wait, 3)}
    return orjson.dumps({"error": "rate_limited", "message": message, "details": [detail]})


class RateLimitMiddleware:
    """Answers 429 JSON (or closes a WebSocket with 1013) once a client's bucket is empty."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        rates = {
            "trace": Rate(settings.rate_limit_trace_per_s, settings.rate_limit_trace_burst),
            "upload": Rate(settings.rate_limit_upload_per_s, settings.rate_limit_upload_burst),
        }
        shared = settings.rate_limit_state_file
        self.buckets: TokenBuckets | SharedTokenBuckets = (
            SharedTokenBuckets(rates, settings.rate_limit_max_clients, str(shared))
            if shared
            else TokenBuckets(rates, settings.rate_limit_max_clients)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = request_kind(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        wait = self.buckets.take(address, kind)
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))  # HTTP counts whole seconds; the body is exact
        if scope["type"] == "websocket":
            # Closing before accept makes the handshake fail (HTTP 403 to the client).
            await send({"type": "websocket.close", "code": 1013, "reason": "rate limited"})
            return
        body = too_many_body(kind, self.buckets.rates[kind], wait)
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                    # draft-ietf-httpapi-ratelimit-headers: no requests left, back in t seconds
                    (b"ratelimit", f'"{kind}";r=0;t={retry_after}'.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
