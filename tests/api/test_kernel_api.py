"""The engine's loop seen from the API: /readyz names it, Server-Timing says which ran, and a
stored model's prepared weights are made once and dropped with the model."""

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.deps import store_of
from app.config import Settings
from app.engine.kernel import numba_version
from app.main import create_app
from tests.api.helpers import lstm_weights, upload
from tests.conftest import skip_or_fail

INPUTS = [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0]]


@pytest.mark.kernel_on
def test_readyz_names_the_kernel_setting_and_numba(client: TestClient) -> None:
    kernel = client.get("/readyz").json()["kernel"]
    assert kernel["setting"] == "auto" and kernel["numba"] == numba_version()
    assert kernel["failure"] is None and isinstance(kernel["warm"], bool)


@pytest.mark.kernel_on
def test_server_timing_says_which_loop_ran(client: TestClient) -> None:
    if numba_version() is None:
        skip_or_fail("numba is not installed (pip install -e '.[fast]')")
    model = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "seed": 1}
    for dtype in ("float32", "float64"):
        res = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS, "dtype": dtype})
        assert 'desc="numba"' in res.headers["server-timing"]
    gru = {**model, "cell": "gru"}
    res = client.post("/api/v1/trace", json={"model": gru, "inputs": INPUTS})
    assert 'desc="numpy"' in res.headers["server-timing"]


def test_kernel_setting_numpy_keeps_every_trace_on_the_reference_loop(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", kernel="numpy")
    with TestClient(create_app(settings)) as client:
        model = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "seed": 1}
        res = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS})
        assert 'desc="numpy"' in res.headers["server-timing"]
        assert client.get("/readyz").json()["kernel"]["setting"] == "numpy"


def test_second_trace_of_a_stored_model_reuses_its_stacked_weights(client: TestClient) -> None:
    up = upload(client, lstm_weights(seed=7)).json()
    store = store_of(client.app.state)  # type: ignore[attr-defined]
    body = {"model": {"id": up["id"]}, "inputs": INPUTS, "dtype": "float32"}
    first = client.post("/api/v1/trace", json=body).json()
    cache = store.get(up["id"]).params.cache  # type: ignore[attr-defined]
    assert (cache.misses, cache.hits) == (1, 0)
    second = client.post("/api/v1/trace", json=body).json()
    assert (cache.misses, cache.hits) == (1, 1) and second == first
    assert store.get(up["id"]).nbytes > sum(np.asarray(v).nbytes for v in lstm_weights(7).values())

    res = client.delete(
        f"/api/v1/models/{up['id']}", headers={"X-Delete-Token": up["delete_token"]}
    )
    assert res.status_code == 204
    assert client.post("/api/v1/trace", json=body).status_code == 404
    again = upload(client, lstm_weights(seed=7)).json()  # the same content: the same id
    assert again["id"] == up["id"]
    assert client.post("/api/v1/trace", json=body).json() == first
    fresh = store.get(up["id"]).params.cache  # type: ignore[attr-defined]
    assert fresh is not cache and (fresh.misses, fresh.hits) == (1, 0)
