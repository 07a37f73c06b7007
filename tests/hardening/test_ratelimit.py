"""Per-client token buckets: 429 JSON with Retry-After once a client's bucket is empty."""

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.config import Settings
from app.main import create_app
from app.ratelimit import Rate, TokenBuckets

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
