"""The four operator findings of stop 13, each pinned by a test that failed before its fix.

- a request still running when the shutdown timeout ends gets a clean 503, no traceback;
- a compute-queue 503 (answered before routing) is counted under its route;
- a worker that dies (the kernel's OOM killer sends SIGKILL) is logged at error level;
- a 429 says the bucket's real refill time, not always one second.
"""

import asyncio
import json
import os
import re
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.deploy.test_observability import sample
from tests.deploy.test_shutdown import BOUNDARY, _multipart, _read_response, _weights
from tests.hardening.test_guards import slow_trace

TRACE = {"model": {"cell": "lstm", "input_size": 2, "hidden_size": 3}, "inputs": [[0.1, 0.2]]}


@pytest.mark.slow
def test_request_past_shutdown_timeout_gets_clean_503(launch: Any) -> None:
    served = launch({"GATESCOPE_SHUTDOWN_TIMEOUT_S": "1", "GATESCOPE_LOG_FORMAT": "json"})
    body = _multipart(_weights())
    host, port = served.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"POST /api/v1/models HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    )
    sock.sendall(head.encode() + body[: len(body) // 2])  # the rest never comes
    time.sleep(0.5)
    served.proc.send_signal(signal.SIGTERM)
    status, answer = _read_response(sock)
    assert served.terminate()
    assert status == 503, answer
    assert json.loads(answer)["error"] == "shutting_down"
    log = "\n".join(served.log_lines())
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]


def test_compute_queue_503_is_counted_under_its_route(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, compute_concurrency=1, compute_queue_timeout_s=0.01)
    app = create_app(settings)

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            first = c.post("/api/v1/trace", json=slow_trace())
            second = c.post("/api/v1/trace", json=slow_trace())
            return list(await asyncio.gather(first, second))

    def count(route: str) -> float:
        text = TestClient(app).get("/metrics").text
        return sample(text, "gatescope_http_requests_total", route=route, status="503")

    before_route, before_unmatched = count("/api/v1/trace"), count("unmatched")
    with ThreadPoolExecutor(1) as pool:  # a loop of its own (Playwright may own this one)
        responses = pool.submit(asyncio.run, both()).result()
    assert sorted(r.status_code for r in responses) == [200, 503]
    assert count("/api/v1/trace") == before_route + 1
    assert count("unmatched") == before_unmatched


@pytest.mark.slow
def test_worker_killed_by_a_signal_is_logged_at_error_level(launch: Any) -> None:
    served = launch({"GATESCOPE_WORKERS": "2", "GATESCOPE_LOG_FORMAT": "json"})
    children = Path(f"/proc/{served.proc.pid}/task/{served.proc.pid}/children").read_text()
    workers = [int(p) for p in children.split()]
    # the supervisor's children: the spawned workers and multiprocessing's resource tracker
    victim = next(p for p in workers if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes())
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    died: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not died:
        died = [
            e for e in served.json_logs() if "died" in e["message"] and str(victim) in e["message"]
        ]
        time.sleep(0.2)
    assert died, served.log_lines()[-20:]
    assert died[0]["level"] == "error", died[0]
    assert "SIGKILL" in died[0]["message"] or "memory" in died[0]["message"], died[0]
    assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200  # a new one serves
    assert served.terminate()


def test_429_says_the_buckets_real_refill_time(tmp_path: Path) -> None:
    def limited(per_s: float) -> TestClient:
        settings = Settings(
            data_dir=tmp_path,
            rate_limit_enabled=True,
            rate_limit_trace_per_s=per_s,
            rate_limit_trace_burst=1,
        )
        return TestClient(create_app(settings))

    slow, fast = limited(0.25), limited(20.0)
    # the first trace's own time has already refilled part of the token: at most `seconds`
    for client, seconds, header in ((slow, 4.0, "4"), (fast, 0.05, "1")):
        assert client.post("/api/v1/trace", json=TRACE).status_code == 200
        r = client.post("/api/v1/trace", json=TRACE)
        assert r.status_code == 429
        refill = r.json()["details"][0]["retry_after_s"]
        assert seconds - 0.5 <= refill <= seconds if seconds > 1 else 0 < refill <= seconds
        assert r.headers["retry-after"] == header  # whole seconds, as HTTP has it, rounded up
        assert r.headers["ratelimit"] == f'"trace";r=0;t={header}'  # draft-ietf-httpapi
    assert re.search(r"retry in 0\.0\d* s", r.json()["message"]), r.json()["message"]
