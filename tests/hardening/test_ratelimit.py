"""Per-client token buckets: 429 JSON with Retry-After once a client's bucket is empty."""

import os
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.config import Settings
from app.http.ratelimit import Rate, SharedTokenBuckets, TokenBuckets
from app.main import create_app
from tests.conftest import REPO, free_port

TRACE = {"model": {"cell": "lstm", "input_size": 2, "hidden_size": 3}, "inputs": [[0.1, 0.2]]}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_refills_at_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets({"trace": Rate(per_s=2.0, burst=3)}, max_clients=10, clock=clock)
    assert [buckets.take("a", "trace") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", "trace") == pytest.approx(0.5)  # one token needs 1/2 s
    assert buckets.take("b", "trace") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert buckets.take("a", "trace") == 0.0
    clock.now += 100.0
    assert [buckets.take("a", "trace") for _ in range(4)][-1] > 0  # refill capped at burst


def test_bucket_forgets_least_recent_clients_beyond_cap() -> None:
    buckets = TokenBuckets({"trace": Rate(1.0, 1)}, max_clients=100)
    for k in range(1000):
        buckets.take(f"10.0.{k // 256}.{k % 256}", "trace")
    assert len(buckets) == 100


def limited_client(tmp_path, **over: object) -> TestClient:  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path / "data",
        rate_limit_enabled=True,
        rate_limit_trace_per_s=0.01,
        rate_limit_trace_burst=2,
        rate_limit_upload_per_s=0.01,
        rate_limit_upload_burst=1,
        **over,  # type: ignore[arg-type]
    )
    return TestClient(create_app(settings))


def test_shared_buckets_of_two_workers_draw_from_one_budget(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    path = str(tmp_path / "buckets.sqlite3")
    rates = {"trace": Rate(per_s=2.0, burst=3)}
    one, two = (SharedTokenBuckets(rates, 10, path, clock=clock) for _ in range(2))
    assert [one.take("a", "trace"), two.take("a", "trace"), one.take("a", "trace")] == [0.0] * 3
    assert two.take("a", "trace") == pytest.approx(0.5)  # the burst is spent, in either worker
    assert one.take("b", "trace") == 0.0
    clock.now += 0.5
    assert two.take("a", "trace") == 0.0
    assert one.take("a", "trace") == pytest.approx(0.5)
    assert len(one) == len(two) == 2


def test_shared_buckets_forget_least_recent_clients_beyond_cap(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    buckets = SharedTokenBuckets(
        {"trace": Rate(1.0, 1)}, 100, str(tmp_path / "b.sqlite3"), clock=clock
    )
    for k in range(1000):
        clock.now += 0.001
        buckets.take(f"10.0.{k // 256}.{k % 256}", "trace")
    assert len(buckets) == 100  # pruned every 1000 takes, to the cap


def test_shared_buckets_fall_back_to_their_own_when_the_file_breaks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    buckets = SharedTokenBuckets({"trace": Rate(0.001, 2)}, 10, str(tmp_path / "b.sqlite3"))
    assert buckets.take("a", "trace") == 0.0
    buckets._db.close()  # what a vanished or corrupt file looks like to a take
    assert [buckets.take("a", "trace") > 0 for _ in range(3)] == [False, False, True]
    assert buckets.fallback is not None


def test_shared_buckets_that_cannot_open_their_file_still_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "no-such-folder" / "b.sqlite3")
    buckets = SharedTokenBuckets({"trace": Rate(0.001, 1)}, 10, path)
    assert [buckets.take("a", "trace") > 0 for _ in range(2)] == [False, True]


def test_trace_over_limit_gets_429_json_with_retry_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = limited_client(tmp_path)
    codes = [client.post("/api/v1/trace", json=TRACE).status_code for _ in range(2)]
    assert codes == [200, 200]
    r = client.post("/api/v1/trace", json=TRACE)
    assert r.status_code == 429
    assert r.json()["error"] == "rate_limited"
    assert "trace" in r.json()["message"] and "per second" in r.json()["message"]
    assert 1 <= int(r.headers["retry-after"]) <= 100
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/healthz").status_code == 200  # probes are never limited
    assert client.get("/api/v1/nowhere").status_code == 404


def test_upload_limit_is_separate_from_traces(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = limited_client(tmp_path)
    first = client.post("/api/v1/models", files={"file": ("m.json", b"{}")})
    assert first.status_code != 429
    r = client.post("/api/v1/models", files={"file": ("m.json", b"{}")})
    assert r.status_code == 429 and "upload" in r.json()["message"]
    assert client.post("/api/v1/trace", json=TRACE).status_code == 200


def test_websocket_open_draws_from_trace_bucket(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = limited_client(tmp_path)
    for _ in range(2):
        client.post("/api/v1/trace", json=TRACE)
    with pytest.raises(WebSocketDisconnect) as err, client.websocket_connect("/api/v1/step"):
        pass
    assert err.value.code == 1013


def test_rate_limit_is_off_by_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert Settings().rate_limit_enabled is False
    client = TestClient(create_app(Settings(data_dir=tmp_path / "d", rate_limit_trace_burst=1)))
    assert {client.post("/api/v1/trace", json=TRACE).status_code for _ in range(5)} == {200}


@pytest.mark.slow
def test_two_workers_of_gatescope_serve_share_one_budget_per_client(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """20 requests, each on a new connection, spread over both workers by the kernel: with a
    bucket per worker about 8 would pass (4 each); shared, exactly the burst of 4 does."""
    port = free_port()
    env = {
        **os.environ,
        "GATESCOPE_DATA_DIR": str(tmp_path / "data"),
        "GATESCOPE_RATE_LIMIT_ENABLED": "true",
        "GATESCOPE_RATE_LIMIT_TRACE_PER_S": "0.001",
        "GATESCOPE_RATE_LIMIT_TRACE_BURST": "4",
    }
    env.pop("GATESCOPE_RATE_LIMIT_STATE_FILE", None)
    cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        time.sleep(1.0)  # both workers up, not only the first to answer
        codes = [httpx.post(f"{url}/api/v1/trace", json=TRACE, timeout=10).status_code
                 for _ in range(20)]  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert sorted(codes) == [200] * 4 + [429] * 16
