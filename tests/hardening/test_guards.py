"""Body size, request time limit and compute slots answer with JSON, never a hang or a 500."""

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


def slow_trace(steps: int = 4000) -> dict[str, object]:
    row = [0.01 * k for k in range(64)]
    return {
        "model": {"cell": "lstm", "input_size": 64, "hidden_size": 256},
        "inputs": [row] * steps,
    }


def test_declared_body_over_limit_is_413_before_parsing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(Settings(data_dir=tmp_path, max_body_bytes=4096)))
    r = client.post(
        "/api/v1/trace", content=b"[" * 5000, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"] == "body_too_large"
    assert "4096" in r.json()["message"] and "max_body_bytes" in r.json()["message"]


def test_streamed_body_without_length_is_cut_at_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(Settings(data_dir=tmp_path, max_body_bytes=4096)))

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1000

    r = client.post("/api/v1/trace", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "body_too_large"


def test_upload_limit_follows_max_upload_bytes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, max_upload_bytes=2048)
    client = TestClient(create_app(settings))
    big = b"0" * (2048 + 2 * 1024 * 1024)
    r = client.post("/api/v1/models", files={"file": ("m.safetensors", big)})
    assert r.status_code == 413
    assert "max_upload_bytes 2048 plus 1048576 for the form fields" in r.json()["message"]


def test_request_past_time_limit_is_504_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(Settings(data_dir=tmp_path, request_timeout_s=0.02)))
    r = client.post("/api/v1/trace", json=slow_trace())
    assert r.status_code == 504
    assert r.json()["error"] == "timeout"
    assert "request_timeout_s" in r.json()["message"]
    assert client.get("/healthz").status_code == 200


def test_timed_out_computation_keeps_its_slot_until_it_finishes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A worker thread cannot be stopped: freeing the slot at the 504 would let every timed-out
    # request leave a computation behind, and the next one would start beside it.
    settings = Settings(
        data_dir=tmp_path,
        request_timeout_s=0.05,
        compute_concurrency=1,
        compute_queue_timeout_s=0.01,
    )
    with TestClient(create_app(settings)) as client:  # one event loop for all requests
        first = client.post("/api/v1/trace", json=slow_trace())
        assert first.status_code == 504
        second = client.post("/api/v1/trace", json=slow_trace())
        assert second.status_code == 503, second.text  # the first still holds the only slot
        assert second.json()["error"] == "busy"
        small = {"model": {"cell": "lstm", "input_size": 1, "hidden_size": 2}, "inputs": [[1]]}
        deadline = time.monotonic() + 30
        while (r := client.post("/api/v1/trace", json=small)).status_code == 503:
            assert time.monotonic() < deadline, "the slot was never freed"
            time.sleep(0.05)
        # Freed once the background computation ended. (A 504 here would still mean the slot
        # was free: the machine may be busy with an earlier test's leftover computation.)
        assert r.status_code in (200, 504), r.text


def test_compute_slots_full_gives_503_with_retry_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, compute_concurrency=1, compute_queue_timeout_s=0.01)
    app = create_app(settings)

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return list(
                await asyncio.gather(
                    c.post("/api/v1/trace", json=slow_trace()),
                    c.post("/api/v1/trace", json=slow_trace()),
                )
            )

    # A thread of its own: after the browser tests, Playwright's loop runs in this one.
    with ThreadPoolExecutor(1) as pool:
        responses = pool.submit(asyncio.run, both()).result()
    assert sorted(r.status_code for r in responses) == [200, 503]
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.json()["error"] == "busy" and int(busy.headers["retry-after"]) >= 1
