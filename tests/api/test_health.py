import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from app import __version__
from app.config import Settings
from app.main import create_app
from tests.conftest import start_server, stop_server


def test_healthz_answers_ok_with_version(client: TestClient) -> None:
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.json() == {"status": "ok", "version": __version__}


def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    res = client.get("/no/such/page")
    assert res.status_code == 404
    assert res.json()["error"] == "not_found"


def test_readyz_reports_the_store(client: TestClient) -> None:
    res = client.get("/readyz")
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "ready" and body["uploaded"] == 0 and body["version"] == __version__


def test_readyz_is_503_when_the_data_folder_cannot_be_made(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with TestClient(create_app(Settings(data_dir=blocker / "data"))) as c:
        res = c.get("/readyz")
        assert res.status_code == 503
        assert res.json()["error"] == "not_ready"
        assert c.get("/healthz").status_code == 200


@pytest.mark.slow
def test_healthz_stays_fast_while_heavy_traces_compute(tmp_path) -> None:
    """Traces run in worker threads: the event loop keeps answering /healthz meanwhile."""
    server = start_server(tmp_path / "data")
    try:
        model = {"cell": "lstm", "input_size": 64, "hidden_size": 256}
        body = {"model": model, "inputs": [[0.1] * 64] * 3000, "fields": ["h"]}
        timings: list[float] = []

        def heavy() -> None:
            t0 = time.perf_counter()
            res = httpx.post(f"{server.url}/api/v1/trace", json=body, timeout=120)
            timings.append(time.perf_counter() - t0)
            assert res.status_code == 200

        workers = [threading.Thread(target=heavy) for _ in range(2)]
        for w in workers:
            w.start()
        time.sleep(0.2)
        latencies = []
        with httpx.Client(base_url=server.url) as c:
            while any(w.is_alive() for w in workers):
                t0 = time.perf_counter()
                assert c.get("/healthz").status_code == 200
                latencies.append(time.perf_counter() - t0)
                time.sleep(0.02)
        for w in workers:
            w.join()
    finally:
        stop_server(server)
    assert len(latencies) >= 5, f"the traces ended too soon ({timings})"
    # A trace computed on the event loop would hold /healthz for its whole duration.
    assert max(latencies) < min(timings) / 4, (max(latencies), timings)
