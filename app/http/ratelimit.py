"""Per-client rate limits on the expensive endpoints: token buckets.

There is one bucket per client and kind of request: ``trace`` (POST /api/v1/trace,
POST /api/v1/gradients, opening the /api/v1/step WebSocket) and ``upload`` (POST
/api/v1/models). A bucket holds at most ``burst`` tokens and refills at ``per_s`` tokens a
second; a request takes one token or is answered 429 with ``Retry-After``. A client is a
browser (its anonymous cookie), an API key, or else an address (app/http/clients.py); every
address also has a higher ceiling for all of its clients together (``@address`` kinds), so a
classroom behind one NAT address shares the ceiling while one client gets only its own
share. ``rate_limit_key=address`` counts by address alone, as before. One worker keeps its
buckets in memory; the workers of one server share theirs through a small SQLite file
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
from typing import Protocol

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.http.clients import Signer, address, identify, is_page_load, load_secret, set_cookie_header
from app.http.redis_link import link_for

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

    def known(self, client: str, kind: str) -> bool:
        return (client, kind) in self._buckets

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

    def known(self, client: str, kind: str) -> bool:
        if self.fallback is None:
            try:
                with self._lock:
                    row = self._db.execute(
                        "SELECT 1 FROM buckets WHERE client = ? AND kind = ?", (client, kind)
                    ).fetchone()
                return row is not None
            except sqlite3.Error as err:
                self._fall_back(str(err))
        assert self.fallback is not None
        return self.fallback.known(client, kind)

    def __len__(self) -> int:
        if self.fallback is not None:
            return len(self.fallback)
        return int(self._db.execute("SELECT COUNT(*) FROM buckets").fetchone()[0])


class Buckets(Protocol):
    rates: dict[str, Rate]

    def take(self, client: str, kind: str) -> float: ...

    def known(self, client: str, kind: str) -> bool: ...


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


def too_many_body(kind: str, rate: Rate, wait: float, scope: str = "client") -> bytes:
    what = "trace and gradient requests" if kind == "trace" else "model uploads"
    who = "this client" if scope == "client" else "this address (every client behind it together)"
    message = (
        f"too many {what} from {who}: the limit is {rate.per_s:g} per second "
        f"(bursts of {rate.burst}); retry in {wait:.3g} s"
    )
    detail = {"field": kind, "scope": scope, "retry_after_s": round(wait, 3)}
    return orjson.dumps({"error": "rate_limited", "message": message, "details": [detail]})


def bucket_rates(settings: Settings) -> dict[str, Rate]:
    """The rate of each kind of bucket; ``@address`` kinds are the ceilings per address."""
    s = settings
    return {
        "trace": Rate(s.rate_limit_trace_per_s, s.rate_limit_trace_burst),
        "upload": Rate(s.rate_limit_upload_per_s, s.rate_limit_upload_burst),
        "trace@address": Rate(s.rate_limit_address_trace_per_s, s.rate_limit_address_trace_burst),
        "upload@address": Rate(
            s.rate_limit_address_upload_per_s, s.rate_limit_address_upload_burst
        ),
        "new_client@address": Rate(s.rate_limit_new_clients_per_s, s.rate_limit_new_clients_burst),
    }


def make_buckets(settings: Settings) -> "Buckets":
    """Redis's buckets for the replicas of a course (redis_url), over this server's own: the
    workers' SQLite file (rate_limit_state_file), else this process's memory."""
    rates = bucket_rates(settings)
    shared = settings.rate_limit_state_file
    local: Buckets
    if shared:
        local = SharedTokenBuckets(rates, settings.rate_limit_max_clients, str(shared))
    else:
        local = TokenBuckets(rates, settings.rate_limit_max_clients)
    link = link_for(settings)
    if link is None:
        return local
    from app.http.redis_buckets import RedisTokenBuckets

    return RedisTokenBuckets(rates, link, local)


class RateLimitMiddleware:
    """Answers 429 JSON (or closes a WebSocket with 1013) once a client's bucket is empty.

    With ``rate_limit_key=client`` a request takes a token from its client's bucket (browser
    cookie, API key, else its address: app/http/clients.py) and then one from its address's
    ceiling; with ``address``, from its address's bucket alone, at the per-client rate.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.by_address = settings.rate_limit_key == "address"
        self.buckets = make_buckets(settings)
        self.signer = None if self.by_address else Signer(load_secret(settings))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        kind = request_kind(scope)
        where = address(scope)
        if self.signer is None:
            if kind is not None:
                wait = self.buckets.take(where, kind)
                if wait > 0.0:
                    await self.refuse(scope, send, kind, wait, "client")
                    return
            await self.app(scope, receive, send)
            return
        client, _ = identify(scope, self.signer)
        if kind is not None and client.startswith("k:"):
            client = self._minted_key(client, kind, where)
        if kind is None:
            if client.startswith("a:") and is_page_load(scope):
                await self.app(scope, receive, self._with_cookie(scope, send, where))
                return
            await self.app(scope, receive, send)
            return
        for bucket, name, scope_name in (
            (client, kind, "client"),
            (where, f"{kind}@address", "address"),
        ):
            wait = self.buckets.take(bucket, name)
            if wait > 0.0:
                await self.refuse(scope, send, kind, wait, scope_name)
                return
        await self.app(scope, receive, send)

    def _minted_key(self, client: str, kind: str, where: str) -> str:
        """A key never seen (or not for minutes) is a new client, like a new cookie: it draws
        on its address's mint, shared with cookies; once that runs dry, new keys count as
        their address, so fresh keys per request buy no fresh buckets."""
        if self.buckets.known(client, kind):
            return client
        if self.buckets.take(where, "new_client@address") > 0.0:
            return "a:" + where
        return client

    def _with_cookie(self, scope: Scope, send: Send, where: str) -> Send:
        """A send that sets a new client cookie on the response, while the address may mint."""
        assert self.signer is not None
        if self.buckets.take(where, "new_client@address") > 0.0:
            return send
        _, value = self.signer.new_cookie()
        cookie = set_cookie_header(value, scope)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), cookie]
            await send(message)

        return sending

    async def refuse(self, scope: Scope, send: Send, kind: str, wait: float, who: str) -> None:
        retry_after = max(1, math.ceil(wait))  # HTTP counts whole seconds; the body is exact
        if scope["type"] == "websocket":
            # Closing before accept makes the handshake fail (HTTP 403 to the client).
            await send({"type": "websocket.close", "code": 1013, "reason": "rate limited"})
            return
        rate = self.buckets.rates[kind if who == "client" else f"{kind}@address"]
        body = too_many_body(kind, rate, wait, who)
        policy = kind if who == "client" else f"{kind}-address"
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                    # draft-ietf-httpapi-ratelimit-headers: no requests left, back in t seconds
                    (b"ratelimit", f'"{policy}";r=0;t={retry_after}'.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
