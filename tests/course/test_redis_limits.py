"""Rate limits and training caps shared through a real redis-server, and what each replica
does while that Redis is gone: its own limits, one warning, never an error or a wait."""

import logging
import threading
import time

import pytest

from app.api.errors import ApiError
from app.api.train_caps import RedisRegistry
from app.config import Settings
from app.http.ratelimit import Rate, TokenBuckets
from app.http.redis_buckets import RedisTokenBuckets
from app.http.redis_link import RedisLink, redacted
from tests.course.conftest import RedisServer

RATES = {"trace": Rate(per_s=0.001, burst=3), "fast": Rate(per_s=10.0, burst=1)}


def replica(server: RedisServer, retry_s: float = 0.5) -> RedisTokenBuckets:
    """One replica's buckets: its own connection to Redis, its own fallback."""
    link = RedisLink(server.url, timeout_s=0.2, retry_s=retry_s)
    return RedisTokenBuckets(RATES, link, TokenBuckets(RATES, max_clients=100))


def test_two_replicas_draw_from_one_bucket(redis_server: RedisServer) -> None:
    one, two = replica(redis_server), replica(redis_server)
    waits = [b.take("c:alice", "trace") for b in (one, two, one, two)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(1000.0, rel=0.01)  # a whole token at 0.001 a second
    assert two.take("c:bob", "trace") == 0.0  # another client, its own bucket
    assert one.known("c:alice", "trace") and not one.known("c:carol", "trace")


def test_refill_is_timed_by_redis(redis_server: RedisServer) -> None:
    one, two = replica(redis_server), replica(redis_server)
    assert one.take("k:x", "fast") == 0.0
    wait = two.take("k:x", "fast")
    assert 0.05 < wait <= 0.1  # 10 a second: the token is at most 0.1 s away
    time.sleep(0.12)
    assert two.take("k:x", "fast") == 0.0


def test_a_bucket_expires_once_it_would_be_full_again(redis_server: RedisServer) -> None:
    one = replica(redis_server)
    one.take("c:alice", "fast")
    ttl_ms = one.link.client.pttl(one.key("c:alice", "fast"))
    assert 0 < ttl_ms <= 1100  # 0.1 s to refill the one token, plus a second
    one.take("c:alice", "trace")
    ttl_s = one.link.client.ttl(one.key("c:alice", "trace"))
    assert 990 <= ttl_s <= 1001  # one token of 0.001 a second is 1000 s away


def test_concurrent_takes_from_many_replicas_never_overspend(redis_server: RedisServer) -> None:
    rates = {"trace": Rate(per_s=0.0001, burst=50)}
    replicas = [
        RedisTokenBuckets(rates, RedisLink(redis_server.url), TokenBuckets(rates, 10))
        for _ in range(4)
    ]
    allowed = [0] * 8

    def hammer(k: int) -> None:
        for _ in range(25):
            if replicas[k % 4].take("a:10.0.0.1", "trace") == 0.0:
                allowed[k] += 1

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50  # 200 takes, exactly the burst passes


def test_redis_gone_falls_back_to_local_limits_and_logs_once(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gatescope.redis")
    one = replica(redis_server, retry_s=0.3)
    assert one.take("c:alice", "trace") == 0.0  # Redis: 2 left there
    redis_server.kill()
    start = time.monotonic()
    waits = [one.take("c:alice", "trace") for _ in range(100)]
    assert time.monotonic() - start < 1.0  # connection refused: no waiting
    # the local buckets start full: 3 then refused, exactly as one server would count
    assert waits[:3] == [0.0] * 3 and all(w > 0 for w in waits[3:])
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, [r.getMessage() for r in warned]
    assert "cannot be reached" in warned[0].getMessage()
    assert redis_server.url in warned[0].getMessage()

    redis_server.start()  # the same port: back after at most retry_s
    time.sleep(0.35)
    assert one.take("c:alice", "trace") == 0.0  # a fresh Redis: a fresh bucket
    assert one.link.up
    back = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
    assert len(back) == 1, back
    assert one.link.client.exists(one.key("c:alice", "trace"))


def test_a_redis_that_hangs_costs_one_timeout_per_retry_period(
    redis_server: RedisServer,
) -> None:
    one = replica(redis_server, retry_s=5.0)
    assert one.take("c:alice", "trace") == 0.0
    redis_server.pause()  # accepts connections, answers nothing
    start = time.monotonic()
    first = one.take("c:alice", "trace")
    first_s = time.monotonic() - start
    assert first == 0.0 and first_s < 0.6  # the socket timeout (0.2 s), then local buckets
    start = time.monotonic()
    for _ in range(50):
        one.take("c:alice", "trace")
    assert time.monotonic() - start < 0.1  # marked down: no more waiting until retry_s
    redis_server.resume()


def test_password_is_not_logged() -> None:
    assert redacted("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def settings(**values: object) -> Settings:
    return Settings(train_max_runs=3, train_idle_s=1.0, **values)  # type: ignore[arg-type]


def test_training_runs_are_capped_for_the_whole_course(redis_server: RedisServer) -> None:
    s = settings()
    one, two = (RedisRegistry(RedisLink(redis_server.url), s) for _ in range(2))
    one.take(2, s)
    with pytest.raises(ApiError) as refused:
        two.take(2, s)  # 2 + 2 > 3, though this replica trains nothing
    assert refused.value.status == 503 and refused.value.code == "server_full"
    assert "the course trains 2 runs" in refused.value.message
    assert "train_max_runs" in refused.value.message
    two.take(1, s)
    one.give_back(2)
    two.take(2, s)
    assert (one.runs, two.runs) == (0, 3)


def test_a_dead_replicas_runs_are_dropped_after_the_stale_time(redis_server: RedisServer) -> None:
    s = settings()
    dead, alive = (RedisRegistry(RedisLink(redis_server.url), s) for _ in range(2))
    dead.stale_s = alive.stale_s = 0.5  # train_idle_s + 60 s in service
    dead.take(3, s)  # then never heard from again
    with pytest.raises(ApiError):
        alive.take(1, s)
    time.sleep(0.6)
    alive.take(3, s)


def test_spending_is_one_budget_per_client_across_replicas(redis_server: RedisServer) -> None:
    s = settings()
    one, two = (RedisRegistry(RedisLink(redis_server.url), s) for _ in range(2))
    assert one.spend("c:alice", 60, limit=100)
    assert not two.spend("c:alice", 50, limit=100)  # 110 > 100
    assert two.spend("c:alice", 40, limit=100)
    assert not one.spend("c:alice", 1, limit=100)
    assert one.spent_by("c:alice") == two.spent_by("c:alice") == 100
    assert two.spend("c:bob", 100, limit=100) and one.spent_by("c:bob") == 100
    ttl = one.link.client.ttl("gatescope:train:spent:c:alice")
    assert 86000 < ttl <= 86400


def test_training_caps_without_redis_count_locally(redis_server: RedisServer) -> None:
    s = settings()
    one = RedisRegistry(RedisLink(redis_server.url, retry_s=0.3), s)
    one.take(1, s)
    assert one.spend("c:alice", 30, limit=100)
    redis_server.kill()
    one.take(2, s)  # local: 1 + 2 <= 3
    with pytest.raises(ApiError) as refused:
        one.take(1, s)
    assert "it trains 3 runs" in refused.value.message
    assert one.spend("c:alice", 100, limit=100)  # local spending starts at 0
    assert not one.spend("c:alice", 1, limit=100)
    assert one.spent_by("c:alice") == 100
    redis_server.start()
    time.sleep(0.35)
    one.give_back(1)  # back: this process's count (2) is written to Redis again
    assert one.link.up
    assert one.link.client.hget("gatescope:train:runs", one.me) == "2"


def test_a_live_replica_keeps_its_runs_with_heartbeats(redis_server: RedisServer) -> None:
    s = settings()
    alive, other = (RedisRegistry(RedisLink(redis_server.url), s) for _ in range(2))
    alive.stale_s = other.stale_s = 0.5
    alive.take(3, s)
    time.sleep(0.3)
    alive.heartbeat()  # a message on a paused race
    time.sleep(0.3)  # 0.6 s since the start, 0.3 s since the heartbeat
    with pytest.raises(ApiError):
        other.take(1, s)
