"""Request ids, access logs and /metrics, in process and on a real multi-worker server."""

import io
import re
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from safetensors.numpy import save

from app.config import Settings
from app.main import create_app

RANDOM_LSTM: dict[str, object] = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "seed": 0}
TRACE: dict[str, object] = {"model": RANDOM_LSTM, "inputs": [[0.5, -1.0], [0.25, 0.0]]}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data")))


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of `name` summed over the series whose labels include `labels`."""
    total = 0.0
    for line in metrics.splitlines():
        m = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if m and all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()):
            total += float(m.group(2))
    return total


def test_request_id_is_kept_when_safe_and_made_otherwise(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"}).headers[
        "X-Request-ID"
    ] == ("lb-7f3a.42")
    for bad in ("has spaces", "x" * 65, 'quote"d'):
        made = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", made), (bad, made)
    one, two = (client.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert one != two and re.fullmatch(r"[0-9a-f]{32}", one)
    assert client.get("/no/such/page").headers["X-Request-ID"]  # errors carry it too


def test_metrics_count_by_route_template_not_by_path(client: TestClient) -> None:
    def count(route: str, status: str) -> float:
        text = client.get("/metrics").text
        return sample(text, "gatescope_http_requests_total", route=route, status=status)

    models = "/api/v1/models/{model_id}"
    before, unmatched = count(models, "404"), count("unmatched", "404")
    client.get("/api/v1/models/0123456789abcdef01234567")
    client.get("/api/v1/models/aaaaaaaaaaaaaaaaaaaaaaaa")
    client.get("/no/such/page")
    assert count(models, "404") == before + 2
    assert count("unmatched", "404") == unmatched + 1
    assert "/api/v1/models/aaaa" not in client.get("/metrics").text


def test_metrics_time_traces_by_cell_and_count_stored_models(client: TestClient) -> None:
    def read(name: str, **labels: str) -> float:
        return sample(client.get("/metrics").text, name, **labels)

    traces = read("gatescope_trace_compute_seconds_count", cell="gru")
    body = {**TRACE, "model": {**RANDOM_LSTM, "cell": "gru"}}
    assert client.post("/api/v1/trace", json=body).status_code == 200
    assert read("gatescope_trace_compute_seconds_count", cell="gru") == traces + 1
    assert read("gatescope_trace_compute_seconds_sum", cell="gru") > 0

    assert read("gatescope_models_stored", source="upload") == 0
    rng = np.random.default_rng(3)
    weights = {
        "weight_ih_l0": rng.normal(size=(12, 2)).astype(np.float32),
        "weight_hh_l0": rng.normal(size=(12, 3)).astype(np.float32),
    }
    res = client.post(
        "/api/v1/models",
        files={"file": ("m.safetensors", io.BytesIO(save(weights)))},
        data={"cell": "lstm", "layout": "torch"},
    )
    assert res.status_code == 201, res.text
    assert read("gatescope_models_stored", source="upload") == 1
    assert read("gatescope_store_bytes") > 0


@pytest.mark.slow
def test_json_logs_carry_the_request_id_of_each_access(launch: Any) -> None:
    served = launch({"GATESCOPE_LOG_FORMAT": "json"})
    res = httpx.post(f"{served.url}/api/v1/trace", json=TRACE, headers={"X-Request-ID": "ci-42"})
    assert res.headers["X-Request-ID"] == "ci-42"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        access = [e for e in served.json_logs() if e.get("request_id") == "ci-42"]
        if access:
            break
        time.sleep(0.1)
    (line,) = access
    assert line["logger"] == "gatescope.access" and line["level"] == "info"
    assert (line["method"], line["route"], line["status"]) == ("POST", "/api/v1/trace", 200)
    assert line["duration_ms"] > 0 and line["path"] == "/api/v1/trace"
    lines = served.log_lines()
    assert lines and all(x.startswith("{") for x in lines), lines[:3]  # uvicorn's own too


@pytest.mark.slow
def test_text_logs_name_the_request_id(launch: Any) -> None:
    served = launch({"GATESCOPE_LOG_FORMAT": "text"})
    httpx.get(f"{served.url}/healthz", headers={"X-Request-ID": "probe-1"})  # debug level
    httpx.get(f"{served.url}/api/v1/models", headers={"X-Request-ID": "text-7"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any("[text-7]" in x for x in served.log_lines()):
        time.sleep(0.1)
    (line,) = [x for x in served.log_lines() if "[text-7]" in x]
    assert "gatescope.access" in line and "GET /api/v1/models 200" in line
    assert not any("[probe-1]" in x for x in served.log_lines())


@pytest.mark.slow
def test_metrics_sum_the_counts_of_every_worker(launch: Any) -> None:
    served = launch({"GATESCOPE_WORKERS": "2"})
    n = 8
    for _ in range(n):  # a fresh connection each: the kernel spreads them over the workers
        with httpx.Client() as c:
            assert c.post(f"{served.url}/api/v1/trace", json=TRACE).status_code == 200

    def traced() -> float:
        text = httpx.get(f"{served.url}/metrics").text
        return sample(text, "gatescope_http_requests_total", route="/api/v1/trace", status="200")

    deadline = time.monotonic() + 5
    while traced() < n and time.monotonic() < deadline:
        time.sleep(0.1)  # the count is written just after the response's last byte
    assert traced() == n
    text = httpx.get(f"{served.url}/metrics").text
    assert sample(text, "gatescope_trace_compute_seconds_count", cell="lstm") == n
    assert served.terminate()


def test_the_log_of_an_unhandled_error_carries_the_request_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    from app.http.observability import RequestIdFilter

    caplog.handler.addFilter(RequestIdFilter())
    with TestClient(app, raise_server_exceptions=False) as c:
        res = c.get("/boom", headers={"X-Request-ID": "req-500"})
    assert res.status_code == 500
    errors = [r for r in caplog.records if r.name == "gatescope.api" and r.levelname == "ERROR"]
    assert errors and getattr(errors[0], "request_id", None) == "req-500"  # it was None
