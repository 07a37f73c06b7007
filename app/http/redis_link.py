"""The replicas' shared Redis (GATESCOPE_REDIS_URL), and what happens while it is away.

The replicas of a course keep their rate limits (app/http/redis_buckets.py) and training caps
(app/api/train_caps.py) in one Redis, so a client gets the configured rate and budget whichever
replica nginx sends it to. Redis is a convenience, never a dependency of an answer: every call
has a short socket timeout (redis_timeout_s) and no retries, and a failed call returns None so
the caller uses its local state instead (the limits of a single server). The first failure of
an outage is logged at warning level, once; for redis_retry_s seconds after a failure no call
is tried at all (requests do not each wait for a dead Redis); the first call that works again
is logged too. One link per process, shared by everything that uses Redis.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger("gatescope.redis")
T = TypeVar("T")
PREFIX = "gatescope:"  # every key this service writes starts with it


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisLink:
    """A redis-py client with short timeouts, and this process's view of whether Redis is up."""

    def __init__(
        self,
        url: str,
        timeout_s: float = 0.25,
        retry_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as err:  # pragma: no cover - the image and `make` install it
            raise RuntimeError(
                "GATESCOPE_REDIS_URL is set but the redis package is missing: "
                "pip install 'gatescope[course]'"
            ) from err
        self.url, self.retry_s, self.clock = url, retry_s, clock
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            decode_responses=True,
        )
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_try = 0.0

    @property
    def up(self) -> bool:
        return self._down_since is None

    def call(self, fn: Callable[[Any], T]) -> T | None:
        """fn(client)'s result, or None while Redis is unreachable (use local state then)."""
        if self._down_since is not None and self.clock() < self._next_try:
            return None
        try:
            result = fn(self.client)
        except self.errors as err:
            self._failed(err)
            return None
        if self._down_since is not None:
            self._recovered()
        return result

    def _failed(self, err: BaseException) -> None:
        with self._lock:
            now = self.clock()
            self._next_try = now + self.retry_s
            if self._down_since is None:
                self._down_since = now
                log.warning(
                    "Redis at %s cannot be reached (%s: %s); this replica keeps its own rate "
                    "limits and training caps until it is back (tried again every %g s)",
                    redacted(self.url),
                    type(err).__name__,
                    err,
                    self.retry_s,
                )

    def _recovered(self) -> None:
        with self._lock:
            if self._down_since is None:
                return
            away = self.clock() - self._down_since
            self._down_since = None
            log.warning(
                "Redis at %s answers again after %.1f s; limits are shared again",
                redacted(self.url),
                away,
            )


_links: dict[tuple[str, float, float], RedisLink] = {}
_links_lock = threading.Lock()


def link_for(settings: "Settings") -> RedisLink | None:
    """This process's link to settings.redis_url, or None when it is empty (local limits)."""
    if not settings.redis_url:
        return None
    key = (settings.redis_url, settings.redis_timeout_s, settings.redis_retry_s)
    with _links_lock:
        link = _links.get(key)
        if link is None:
            link = RedisLink(*key)
            _links[key] = link
        return link
