import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.engine import init_params, run_trace
from app.main import create_app

MODEL = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "num_layers": 1, "seed": 7}
INPUTS = [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0], [-2.0, 0.5]]


def test_trace_of_random_lstm_equals_the_engine(client: TestClient) -> None:
    res = client.post("/api/v1/trace", json={"model": MODEL, "inputs": INPUTS})
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["cell"], body["steps"], body["hidden_size"]) == ("lstm", 4, 3)
    expected = run_trace("lstm", init_params("lstm", 2, 3, 1, seed=7), np.asarray(INPUTS))
    for field in ("i", "f", "g", "o", "c", "h"):
        np.testing.assert_allclose(body["layers"][0][field], expected.layers[0][field], atol=1e-15)


def test_float32_trace_is_rounded_for_display(client: TestClient) -> None:
    res = client.post("/api/v1/trace", json={"model": MODEL, "inputs": INPUTS, "dtype": "float32"})
    assert res.status_code == 200
    f = np.asarray(res.json()["layers"][0]["f"])
    np.testing.assert_array_equal(f, np.round(f, 5))
    exact = run_trace("lstm", init_params("lstm", 2, 3, 1, seed=7), np.asarray(INPUTS))
    np.testing.assert_allclose(f, exact.layers[0]["f"], atol=1e-5)


def test_two_layer_trace_has_a_block_per_layer(client: TestClient) -> None:
    model = {**MODEL, "num_layers": 2}
    body = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS}).json()
    assert len(body["layers"]) == 2
    assert np.asarray(body["layers"][1]["h"]).shape == (4, 3)


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ([[True, 0.0]], "inputs[0][0]"),
        ([["1", 0.0]], "inputs[0][0]"),
        ([[0.0]], "inputs[0]"),
        ([], "inputs"),
    ],
)
def test_trace_rejects_bad_inputs_naming_the_field(
    client: TestClient, inputs: list[list[object]], field: str
) -> None:
    res = client.post("/api/v1/trace", json={"model": MODEL, "inputs": inputs})
    assert res.status_code == 422
    assert field in res.json()["message"]


def test_trace_rejects_nan_input(client: TestClient) -> None:
    raw = json.dumps({"model": MODEL, "inputs": [[float("nan"), 0.0]]})
    res = client.post("/api/v1/trace", content=raw, headers={"content-type": "application/json"})
    assert res.status_code == 422
    assert "inputs[0][0]" in res.json()["message"]


def test_trace_over_the_step_limit_is_413_naming_the_limit(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_steps=3))
    with TestClient(app) as c:
        res = c.post("/api/v1/trace", json={"model": MODEL, "inputs": INPUTS})
    assert res.status_code == 413
    assert res.json()["message"] == "inputs has 4 steps, the limit is 3"


def test_trace_of_too_wide_model_is_422(client: TestClient) -> None:
    model = {**MODEL, "hidden_size": 5000}
    res = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS})
    assert res.status_code == 422
    assert res.json()["message"] == "model.hidden_size is 5000, the limit is 1024"


def test_trace_of_unknown_model_id_is_404(client: TestClient) -> None:
    res = client.post("/api/v1/trace", json={"model": {"id": "nope"}, "inputs": INPUTS})
    assert res.status_code == 404
    assert res.json()["error"] == "not_found"


def test_trace_of_unknown_cell_is_422(client: TestClient) -> None:
    res = client.post(
        "/api/v1/trace", json={"model": {**MODEL, "cell": "transformer"}, "inputs": INPUTS}
    )
    assert res.status_code == 422
