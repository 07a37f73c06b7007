"""Each documented GATESCOPE_* variable changes what a real `gatescope serve` does."""

import io
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from safetensors.numpy import save

from app.config import Settings
from app.main import create_app
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.slow

RANDOM_LSTM = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "seed": 0}
ORIGIN = "https://class.example"


def _inputs(steps: int) -> list[list[float]]:
    return [[0.1 * t, -0.1 * t] for t in range(steps)]


def _upload(url: str) -> httpx.Response:
    rng = np.random.default_rng(1)
    weights = {
        "weight_ih_l0": rng.normal(size=(12, 2)).astype(np.float32),
        "weight_hh_l0": rng.normal(size=(12, 3)).astype(np.float32),
        "bias_ih_l0": np.zeros(12, np.float32),
        "bias_hh_l0": np.zeros(12, np.float32),
    }
    return httpx.post(
        f"{url}/api/v1/models",
        files={"file": ("m.safetensors", io.BytesIO(save(weights)))},
        data={"cell": "lstm", "layout": "torch", "name": "settings-test"},
        timeout=30,
    )


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_port_variable_moves_the_listening_port(launch: Any) -> None:
    port = free_port()
    served = launch({"GATESCOPE_PORT": str(port)})
    assert served.url.endswith(f":{port}")
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
    assert Settings().port == 8000  # the documented default when the variable is unset


def test_data_dir_variable_is_where_uploads_live_and_survive(launch: Any, tmp_path: Path) -> None:
    data = tmp_path / "operator-data"
    served = launch({"GATESCOPE_DATA_DIR": str(data)})
    res = _upload(served.url)
    assert res.status_code == 201, res.text
    model_id = res.json()["id"]
    assert any(model_id in name for name in _files(data)), _files(data)
    assert served.terminate()

    again = launch({"GATESCOPE_DATA_DIR": str(data)})  # a new process, the same folder
    listed = httpx.get(f"{again.url}/api/v1/models").json()
    assert model_id in str(listed)
    elsewhere = launch({"GATESCOPE_DATA_DIR": str(tmp_path / "empty")})
    assert httpx.get(f"{elsewhere.url}/api/v1/models/{model_id}").status_code == 404


def test_max_steps_variable_changes_the_limit(launch: Any) -> None:
    served = launch({"GATESCOPE_MAX_STEPS": "5"})
    ok = httpx.post(f"{served.url}/api/v1/trace", json={"model": RANDOM_LSTM, "inputs": _inputs(5)})
    assert ok.status_code == 200
    over = httpx.post(
        f"{served.url}/api/v1/trace", json={"model": RANDOM_LSTM, "inputs": _inputs(6)}
    )
    assert over.status_code == 413
    assert "6 steps" in over.json()["message"] and "limit is 5" in over.json()["message"]

    default = TestClient(create_app(Settings(data_dir=served.data_dir)))
    body = {"model": RANDOM_LSTM, "inputs": _inputs(6)}
    assert default.post("/api/v1/trace", json=body).status_code == 200


def test_cors_is_closed_by_default(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    res = client.options(
        "/api/v1/trace",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in res.headers
    res = client.get("/healthz", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in res.headers


def test_cors_origins_variable_opens_the_api_to_those_origins_only(launch: Any) -> None:
    served = launch({"GATESCOPE_CORS_ORIGINS": f"{ORIGIN}, https://other.example"})
    preflight = httpx.options(
        f"{served.url}/api/v1/trace",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    res = httpx.post(
        f"{served.url}/api/v1/trace",
        json={"model": RANDOM_LSTM, "inputs": _inputs(2)},
        headers={"Origin": ORIGIN},
    )
    assert res.headers["access-control-allow-origin"] == ORIGIN
    assert "X-Request-ID" in res.headers["access-control-expose-headers"]
    stranger = httpx.get(f"{served.url}/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers


def test_root_path_variable_serves_behind_a_prefix_stripping_proxy(launch: Any) -> None:
    served = launch({"GATESCOPE_ROOT_PATH": "/gatescope"})
    # The proxy strips /gatescope: the app sees plain paths and writes prefixed links.
    # nginx's default passes the backend's own address as Host: links must not carry it
    page = httpx.get(f"{served.url}/", headers={"Host": "backend.internal:8000"})
    assert page.status_code == 200
    link = re.search(r'href="/gatescope/static/([0-9a-f]{12})/css/app\.css"', page.text)
    assert link, page.text[:2000]  # under the asset version (app/web/assets.py)
    assert "backend.internal" not in page.text  # absolute links pointed there
    assert httpx.get(f"{served.url}/static/{link.group(1)}/css/app.css").status_code == 200
    assert httpx.get(f"{served.url}/openapi.json").json()["servers"] == [{"url": "/gatescope"}]


def test_every_setting_is_in_the_readme_table_with_its_default() -> None:
    readme = (REPO / "README.md").read_text()
    rows = dict(re.findall(r"^\| `GATESCOPE_(\w+)` \| ([^|]+) \|", readme, flags=re.M))
    for name, field in Settings.model_fields.items():
        key = name.upper()
        assert key in rows, f"GATESCOPE_{key} is missing from README's settings table"
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        shown = rows[key].strip().strip("`")
        if default in ("", []):
            assert shown.startswith("(empty"), (key, shown)
        elif default is None:
            assert shown.startswith("(unset"), (key, shown)
        elif isinstance(default, bool):
            assert shown == str(default).lower(), (key, shown)
        elif isinstance(default, float):
            assert float(shown) == default, (key, shown)
        else:
            assert shown == str(default), (key, shown)
