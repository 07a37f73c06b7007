import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.engine import Clamp, Readout, from_torch, init_params, run_trace, to_keras
from app.main import create_app
from tests.api.helpers import VOCAB, lstm_weights, upload, with_readout

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
    assert res.json()["message"] == "inputs has 4 steps, the limit is 3 (max_steps)"


def test_trace_of_too_wide_model_is_422(client: TestClient) -> None:
    model = {**MODEL, "hidden_size": 5000}
    res = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS})
    assert res.status_code == 422
    assert res.json()["message"] == "model.hidden_size is 5000, the limit is 1024 (max_hidden_size)"


def test_trace_of_unknown_model_id_is_404(client: TestClient) -> None:
    res = client.post("/api/v1/trace", json={"model": {"id": "nope"}, "inputs": INPUTS})
    assert res.status_code == 404
    assert res.json()["error"] == "not_found"


def test_trace_of_unknown_cell_is_422(client: TestClient) -> None:
    res = client.post(
        "/api/v1/trace", json={"model": {**MODEL, "cell": "transformer"}, "inputs": INPUTS}
    )
    assert res.status_code == 422


# -- text, clamps, fields, states, inline weights (issue 4) -----------------------------------

TEXT_MODEL = {"cell": "lstm", "input_size": len(VOCAB), "hidden_size": 4, "seed": 3}


def one_hot(text: str) -> np.ndarray:
    return np.eye(len(VOCAB))[[VOCAB.index(ch) for ch in text]]


def test_text_trace_lists_tokens_and_equals_one_hot_inputs(client: TestClient) -> None:
    model = {**TEXT_MODEL, "vocab": VOCAB}
    body = client.post("/api/v1/trace", json={"model": model, "text": "ab c."}).json()
    assert body["tokens"] == ["a", "b", " ", "c", "."]
    assert body["steps"] == 5
    expected = run_trace("lstm", init_params("lstm", 5, 4, 1, seed=3), one_hot("ab c."))
    np.testing.assert_allclose(body["layers"][0]["h"], expected.layers[0]["h"], atol=1e-15)


def test_text_with_unknown_character_names_it_and_its_position(client: TestClient) -> None:
    model = {**TEXT_MODEL, "vocab": VOCAB}
    res = client.post("/api/v1/trace", json={"model": model, "text": "ab\u00e9c"})
    assert res.status_code == 422
    body = res.json()
    assert body["error"] == "unknown_token"
    assert body["message"] == ("text[2] is 'é' (U+00E9), which is not in the model's vocabulary")


def test_multi_character_tokens_match_longest_first(client: TestClient) -> None:
    vocab = ["ab", "a", "b", "<eos>"]
    model = {"cell": "gru", "input_size": 4, "hidden_size": 2, "vocab": vocab}
    body = client.post("/api/v1/trace", json={"model": model, "text": "aabb<eos>"}).json()
    assert body["tokens"] == ["a", "ab", "b", "<eos>"]


def test_values_past_the_engines_range_are_named_by_their_place_in_the_request(
    client: TestClient,
) -> None:
    inputs = [[0.5, -1.0], [0.25, -2e12]]
    res = client.post("/api/v1/trace", json={"model": MODEL, "inputs": inputs})
    assert res.status_code == 422
    assert res.json()["error"] == "out_of_range"
    assert res.json()["message"].startswith("inputs[1][1] is -2e+12; values may have a magnitude")
    h0 = [[0.0, 1e13, 0.0]]
    res = client.post("/api/v1/trace", json={"model": MODEL, "inputs": INPUTS, "h0": h0})
    assert res.status_code == 422 and res.json()["message"].startswith("h0[0][1] is 1e+13")


def test_text_of_only_white_space_for_a_word_vocabulary_is_422(client: TestClient) -> None:
    model = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "vocab": ["ab", "cd"]}
    res = client.post("/api/v1/trace", json={"model": model, "text": "   "})
    assert res.status_code == 422
    assert res.json()["error"] == "no_tokens" and "text" in res.json()["message"]


def test_text_for_a_model_without_vocabulary_is_422(client: TestClient) -> None:
    res = client.post("/api/v1/trace", json={"model": MODEL, "text": "abc"})
    assert res.status_code == 422
    assert res.json()["error"] == "no_vocabulary"


@pytest.mark.parametrize("extra", [{}, {"text": "ab"}])
def test_trace_needs_exactly_one_of_inputs_and_text(client: TestClient, extra: dict) -> None:
    body = {"model": {**TEXT_MODEL, "vocab": VOCAB}, **extra}
    if extra:
        body["inputs"] = one_hot("ab").tolist()
    res = client.post("/api/v1/trace", json=body)
    assert res.status_code == 422
    assert "either inputs" in res.json()["message"]


def test_vocabulary_must_match_input_size(client: TestClient) -> None:
    model = {**TEXT_MODEL, "vocab": VOCAB[:3]}
    res = client.post("/api/v1/trace", json={"model": model, "text": "ab"})
    assert res.status_code == 422
    assert "model.vocab has 3 tokens but input_size is 5" in res.json()["message"]


def test_clamp_equals_the_engines_intervention(client: TestClient) -> None:
    clamp = [{"field": "f", "value": 1.0, "units": [0, 2], "steps": [1, 2], "layer": 0}]
    res = client.post("/api/v1/trace", json={"model": MODEL, "inputs": INPUTS, "clamp": clamp})
    assert res.status_code == 200, res.text
    f = np.asarray(res.json()["layers"][0]["f"])
    assert f[1, 0] == f[2, 2] == 1.0 and f[0, 0] != 1.0
    expected = run_trace(
        "lstm",
        init_params("lstm", 2, 3, 1, seed=7),
        np.asarray(INPUTS),
        clamps=[Clamp("f", 1.0, units=[0, 2], steps=[1, 2])],
    )
    np.testing.assert_allclose(res.json()["layers"][0]["c"], expected.layers[0]["c"], atol=1e-15)
    unclamped = run_trace("lstm", init_params("lstm", 2, 3, 1, seed=7), np.asarray(INPUTS))
    assert not np.allclose(unclamped.layers[0]["c"], expected.layers[0]["c"])


@pytest.mark.parametrize(
    ("clamp", "says"),
    [
        ({"field": "q", "value": 1.0}, "clamp[0].field 'q'"),
        ({"field": "f", "value": 2.0}, "clamp[0].value"),
        ({"field": "f", "value": 1.0, "units": [2**70]}, "clamp[0].units[0]"),  # was a 500
        ({"field": "f", "value": 1.0, "steps": [2**63]}, "clamp[0].steps[0]"),
        ({"field": "f", "value": 1.0, "steps": [9]}, "clamp[0].steps contains 9"),
        ({"field": "f", "value": 1.0, "layer": 3}, "clamp[0].layer is 3"),
        ({"field": "f", "value": True}, "clamp[0].value"),
        ({"field": "f", "value": 1.0, "units": [0] * 4}, "clamp[0].units lists 4 entries"),
        ({"field": "f", "value": 1.0, "steps": [0] * 5}, "clamp[0].steps lists 5 entries"),
    ],
)
def test_bad_clamp_is_422_naming_it(client: TestClient, clamp: dict, says: str) -> None:
    res = client.post("/api/v1/trace", json={"model": MODEL, "inputs": INPUTS, "clamp": [clamp]})
    assert res.status_code == 422
    assert says in res.json()["message"]


def test_fields_subset_returns_only_those(client: TestClient) -> None:
    body = {"model": MODEL, "inputs": INPUTS, "fields": ["h", "f"]}
    layer = client.post("/api/v1/trace", json=body).json()["layers"][0]
    assert list(layer) == ["f", "h"]  # in the cell's order


def test_unknown_field_is_422(client: TestClient) -> None:
    body = {"model": MODEL, "inputs": INPUTS, "fields": ["r"]}
    res = client.post("/api/v1/trace", json=body)
    assert res.status_code == 422
    assert "unknown field 'r'" in res.json()["message"]
    assert res.json()["details"][0]["field"] == "fields"


def test_initial_states_are_used_and_final_states_returned(client: TestClient) -> None:
    model = {**MODEL, "num_layers": 2}
    h0 = [[0.1, -0.2, 0.3], [0.0, 0.5, -0.5]]
    c0 = [[1.0, 0.0, -1.0], [0.2, 0.2, 0.2]]
    body = client.post(
        "/api/v1/trace", json={"model": model, "inputs": INPUTS, "h0": h0, "c0": c0}
    ).json()
    expected = run_trace(
        "lstm", init_params("lstm", 2, 3, 2, seed=7), np.asarray(INPUTS), h0=np.array(h0),
        c0=np.array(c0),
    )  # fmt: skip
    np.testing.assert_allclose(body["layers"][1]["h"], expected.layers[1]["h"], atol=1e-15)
    np.testing.assert_allclose(body["h_n"], expected.h_n, atol=1e-15)
    np.testing.assert_allclose(body["c_n"], expected.c_n, atol=1e-15)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"h0": [[0.0, 0.0, 0.0]] * 2}, "h0 has 2 rows, expected one per layer (1)"),
        ({"h0": [[0.0, 0.0]]}, "h0[0] has 2 numbers, expected 3"),
    ],
)
def test_bad_initial_state_is_422(client: TestClient, extra: dict, says: str) -> None:
    res = client.post("/api/v1/trace", json={"model": MODEL, "inputs": INPUTS, **extra})
    assert res.status_code == 422
    assert res.json()["message"] == says


def test_c0_for_a_gru_is_422(client: TestClient) -> None:
    model = {**MODEL, "cell": "gru"}
    body = {"model": model, "inputs": INPUTS, "c0": [[0.0, 0.0, 0.0]]}
    res = client.post("/api/v1/trace", json=body)
    assert res.status_code == 422
    assert "no cell state" in res.json()["message"]
    assert res.json()["details"][0]["field"] == "c0"


def test_inline_torch_weights_with_readout_trace_like_the_engine(client: TestClient) -> None:
    tensors = with_readout(lstm_weights(2, 3, seed=5), vocab_size=4)
    weights = {k: v.tolist() for k, v in tensors.items()}
    model = {"cell": "lstm", "weights": weights, "layout": "torch"}
    res = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS})
    assert res.status_code == 200, res.text
    params, readout = from_torch("lstm", {k: v.astype(np.float64) for k, v in tensors.items()})
    assert isinstance(readout, Readout)
    expected = run_trace("lstm", params, np.asarray(INPUTS), readout=readout)
    body = res.json()
    np.testing.assert_allclose(body["layers"][0]["o"], expected.layers[0]["o"], atol=1e-15)
    np.testing.assert_allclose(body["readout"]["probs"], expected.probs, atol=1e-15)
    np.testing.assert_allclose(np.sum(body["readout"]["probs"], axis=1), 1.0, atol=1e-12)


def test_inline_keras_weights_give_the_same_trace_as_torch(client: TestClient) -> None:
    params = {k: v.astype(np.float64) for k, v in lstm_weights(2, 3, seed=6).items()}
    keras = to_keras("lstm", params)
    torch_body = {"model": {"cell": "lstm", "weights": {k: v.tolist() for k, v in params.items()}}}
    keras_model = {"cell": "lstm", "layout": "keras",
                   "weights": {k: np.asarray(v).tolist() for k, v in keras.items()}}  # fmt: skip
    a = client.post("/api/v1/trace", json={**torch_body, "inputs": INPUTS}).json()
    b = client.post("/api/v1/trace", json={"model": keras_model, "inputs": INPUTS})
    assert b.status_code == 200, b.text
    np.testing.assert_allclose(b.json()["layers"][0]["c"], a["layers"][0]["c"], atol=1e-12)


def test_inline_weights_of_wrong_shape_name_the_tensor(client: TestClient) -> None:
    weights = {k: v.tolist() for k, v in lstm_weights(2, 3).items()}
    weights["weight_hh_l0"] = np.zeros((8, 3)).tolist()
    res = client.post("/api/v1/trace", json={"model": {"weights": weights}, "inputs": INPUTS})
    assert res.status_code == 422
    assert "weight_hh_l0" in res.json()["message"]


def test_inline_weights_contradicting_given_sizes_is_422(client: TestClient) -> None:
    weights = {k: v.tolist() for k, v in lstm_weights(2, 3).items()}
    model = {"weights": weights, "hidden_size": 4}
    res = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS})
    assert res.status_code == 422
    assert res.json()["message"] == "model.hidden_size is 4 but the weights give 3"


def test_stored_model_traces_with_its_readout(client: TestClient) -> None:
    tensors = with_readout(lstm_weights(len(VOCAB), 3, seed=2), vocab_size=len(VOCAB))
    created = upload(client, tensors, vocab=json.dumps(VOCAB))
    assert created.status_code == 201, created.text
    res = client.post("/api/v1/trace", json={"model": {"id": created.json()["id"]}, "text": "abc"})
    assert res.status_code == 200, res.text
    params, readout = from_torch("lstm", {k: v.astype(np.float64) for k, v in tensors.items()})
    expected = run_trace("lstm", params, one_hot("abc"), readout=readout)
    np.testing.assert_allclose(res.json()["readout"]["logits"], expected.logits, atol=1e-12)
    assert res.json()["tokens"] == ["a", "b", "c"]


def test_overflow_is_a_422_not_a_null(client: TestClient) -> None:
    big = {"weight_ih_l0": [[1e10]], "weight_hh_l0": [[1e10]], "bias_ih_l0": [0.0],
           "bias_hh_l0": [0.0]}  # fmt: skip
    body = {"model": {"cell": "rnn_relu", "weights": big}, "inputs": [[1e10]] * 4,
            "dtype": "float32"}  # fmt: skip
    res = client.post("/api/v1/trace", json=body)
    assert res.status_code == 422
    assert "overflowed" in res.json()["message"]


def test_model_over_the_parameter_limit_is_422_naming_the_limit(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_parameters=1000))
    with TestClient(app) as c:
        model = {"cell": "lstm", "input_size": 8, "hidden_size": 16}
        res = c.post("/api/v1/trace", json={"model": model, "inputs": [[0.0] * 8]})
    assert res.status_code == 422
    assert res.json()["message"] == (
        "model has 1664 parameters, the limit is 1000 (max_parameters)"
    )


def test_text_over_the_step_limit_is_413(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_steps=10))
    with TestClient(app) as c:
        model = {**TEXT_MODEL, "vocab": VOCAB}
        res = c.post("/api/v1/trace", json={"model": model, "text": "a" * 11})
    assert res.status_code == 413
    assert res.json()["message"] == "text has 11 steps, the limit is 10 (max_steps)"


@pytest.mark.parametrize("fields", [None, ["c", "h"]])
def test_long_float32_trace_with_readout_equals_the_engine(
    client: TestClient, fields: list[str] | None
) -> None:
    """A long two-layer trace with a readout: every layer, the readout and the final states
    are the engine's, rounded for display."""
    tensors = with_readout(lstm_weights(3, 5, seed=8, layers=2), vocab_size=4)
    weights = {k: v.tolist() for k, v in tensors.items()}
    x = np.random.default_rng(1).uniform(-2, 2, (700, 3))
    body = {"model": {"cell": "lstm", "weights": weights}, "inputs": x.tolist(),
            "dtype": "float32", "fields": fields}  # fmt: skip
    res = client.post("/api/v1/trace", json=body)
    assert res.status_code == 200, res.text
    got = res.json()
    params, readout = from_torch("lstm", {k: v.astype(np.float64) for k, v in tensors.items()})
    want = run_trace("lstm", params, x, readout=readout, dtype=np.float32, fields=fields)
    assert got["steps"] == 700 and len(got["layers"]) == 2
    for layer, expected in zip(got["layers"], want.layers, strict=True):
        assert list(layer) == list(expected)
        for field, values in layer.items():
            np.testing.assert_allclose(values, expected[field], atol=5e-6 + 1e-7)
    np.testing.assert_allclose(got["readout"]["probs"], want.probs, atol=5e-6 + 1e-7)
    np.testing.assert_allclose(got["h_n"], want.h_n, atol=5e-6 + 1e-7)
    np.testing.assert_allclose(got["c_n"], want.c_n, atol=5e-6 + 1e-7)


def test_a_huge_inline_weight_is_422_naming_it_under_model_weights(client: TestClient) -> None:
    weights = {f"lstm.{k}": v.tolist() for k, v in init_params("lstm", 2, 3, seed=7).items()}
    weights["lstm.weight_hh_l0"][4][1] = 1e13
    body = {"model": {"cell": "lstm", "weights": weights}, "inputs": INPUTS}
    res = client.post("/api/v1/trace", json=body)
    assert res.status_code == 422
    # it said weight_hh_l0, the engine's name, not the request's field
    message = res.json()["message"]
    assert message.startswith("model.weights.lstm.weight_hh_l0[4, 1] is 10000000000000.0;")
    assert res.json()["details"][0]["field"] == "model.weights.lstm.weight_hh_l0"


def test_a_trace_over_max_trace_values_is_413_before_any_work(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_trace_values=10_000)
    with TestClient(create_app(settings)) as small:
        model = {"cell": "gru", "input_size": 2, "hidden_size": 32}
        res = small.post("/api/v1/trace", json={"model": model, "inputs": [[0.0, 0.0]] * 40})
    assert res.status_code == 413
    assert res.json()["message"] == (
        "inputs has 40 steps: a trace of 40 steps x 32 units x 1 layers x 9 values is 11520 "
        "numbers, the limit is 10000 (max_trace_values)"
    )
