"""POST /api/v1/trace with "format": "safetensors": the same trace, unrounded, as one file."""

import json
import struct

import numpy as np
import safetensors.numpy
from fastapi.testclient import TestClient

from app.engine import Clamp, init_params, run_trace

MODEL = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "num_layers": 2, "seed": 7}
INPUTS = [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0], [-2.0, 0.5]]


def metadata(blob: bytes) -> dict[str, str]:
    """The __metadata__ of a safetensors file: an 8-byte length, then the JSON header."""
    (size,) = struct.unpack("<Q", blob[:8])
    meta: dict[str, str] = json.loads(blob[8 : 8 + size])["__metadata__"]
    return meta


def post(client: TestClient, **body: object) -> bytes:
    res = client.post("/api/v1/trace", json={"format": "safetensors", **body})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/octet-stream"
    assert res.headers["content-disposition"] == 'attachment; filename="trace.safetensors"'
    return res.content


def test_safetensors_float64_trace_equals_the_json_trace_bit_for_bit(client: TestClient) -> None:
    blob = post(client, model=MODEL, inputs=INPUTS)
    tensors = safetensors.numpy.load(blob)
    body = client.post("/api/v1/trace", json={"model": MODEL, "inputs": INPUTS}).json()
    for k in range(2):
        for field, rows in body["layers"][k].items():
            got = tensors[f"layers.{k}.{field}"]
            assert got.dtype == np.float64 and got.shape == (4, 3)
            np.testing.assert_array_equal(got, np.asarray(rows))
    np.testing.assert_array_equal(tensors["h_n"], np.asarray(body["h_n"]))
    np.testing.assert_array_equal(tensors["c_n"], np.asarray(body["c_n"]))
    assert metadata(blob) == {
        "cell": "lstm",
        "dtype": "float64",
        "input_size": "2",
        "hidden_size": "3",
        "num_layers": "2",
        "steps": "4",
        "fields": '["i","f","g","o","c","tanh_c","h","f_c_prev","i_g"]',
    }


def test_safetensors_float32_trace_is_the_engine_trace_unrounded(client: TestClient) -> None:
    tensors = safetensors.numpy.load(post(client, model=MODEL, inputs=INPUTS, dtype="float32"))
    params = init_params("lstm", 2, 3, 2, seed=7)
    expected = run_trace("lstm", params, np.asarray(INPUTS), dtype=np.float32)
    for field in ("i", "f", "g", "o", "c", "tanh_c", "h", "f_c_prev", "i_g"):
        got = tensors[f"layers.1.{field}"]
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected.layers[1][field])
    assert not np.array_equal(tensors["layers.0.f"], np.round(tensors["layers.0.f"], 5))


def test_safetensors_text_trace_has_tokens_and_readout(client: TestClient) -> None:
    blob = post(client, model={"id": "char-lm-lstm"}, text="It is a truth.")
    tensors = safetensors.numpy.load(blob)
    meta = metadata(blob)
    assert json.loads(meta["tokens"]) == list("It is a truth.")
    probs = tensors["readout.probs"]
    assert probs.shape[0] == 14 and tensors["readout.logits"].shape == probs.shape
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


def test_safetensors_trace_keeps_clamps_and_field_subsets(client: TestClient) -> None:
    clamp = [{"field": "f", "value": 1.0, "units": [0, 1], "steps": [1, 2]}]
    tensors = safetensors.numpy.load(
        post(client, model=MODEL, inputs=INPUTS, clamp=clamp, fields=["f", "c"])
    )
    assert sorted(tensors) == ["c_n", "h_n", "layers.0.c", "layers.0.f", "layers.1.c", "layers.1.f"]
    np.testing.assert_array_equal(tensors["layers.0.f"][1:3, :2], 1.0)
    expected = run_trace(
        "lstm",
        init_params("lstm", 2, 3, 2, seed=7),
        np.asarray(INPUTS),
        clamps=[Clamp("f", 1.0, units=(0, 1), steps=(1, 2))],
    )
    np.testing.assert_array_equal(tensors["layers.1.c"], expected.layers[1]["c"])


def test_trace_rejects_an_unknown_format_naming_the_field(client: TestClient) -> None:
    res = client.post("/api/v1/trace", json={"model": MODEL, "inputs": INPUTS, "format": "npz"})
    assert res.status_code == 422
    body = res.json()
    assert body["details"][0]["field"] == "format"
    assert "json" in body["message"] and "safetensors" in body["message"]
