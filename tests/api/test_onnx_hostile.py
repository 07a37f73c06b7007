"""Hostile and unsupported .onnx uploads get a 4xx naming the part, and the server answers on."""

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.store.onnx_graphs import onnx_or_skip, recurrent_model, serialized


def _upload(client: TestClient, blob: bytes, cell: str = "lstm", **data: str) -> Any:
    return client.post(
        "/api/v1/models", data={"cell": cell, **data}, files={"file": ("m.onnx", blob)}
    )


def _external(model: Any) -> bytes:
    t = model.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = 1
    entry = t.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    return serialized(model)


@pytest.mark.parametrize(
    ("make", "status", "says"),
    [
        (lambda: b"\x08\x07garbage" * 50, 422, "not an ONNX protobuf"),
        (lambda: _external(recurrent_model("LSTM")), 422, "external file"),
        (
            lambda: serialized(recurrent_model("GRU", attrs={"linear_before_reset": 0})),
            422,
            "linear_before_reset=0",
        ),
        (lambda: serialized(recurrent_model("LSTM", attrs={"clip": 1.0})), 422, "clip"),
    ],
)
def test_hostile_onnx_upload_is_a_4xx_and_the_server_answers(
    client: TestClient, make: Any, status: int, says: str
) -> None:
    onnx_or_skip()
    res = _upload(client, make(), cell="gru" if "linear" in says else "lstm")
    assert res.status_code == status and says in res.json()["message"], res.text
    assert client.get("/api/v1/models").status_code == 200


def test_onnx_peephole_lstm_uploads_as_lstm_peephole(client: TestClient) -> None:
    onnx_or_skip()
    res = _upload(
        client, serialized(recurrent_model("LSTM", peepholes=True, readout=4)), cell="lstm_peephole"
    )
    assert res.status_code == 201, res.text
    assert any("P) -> weight_ci/cf/co_l0" in u for u in res.json()["used_tensors"])
    body = {"model": {"id": res.json()["id"]}, "inputs": [[0.5, -1.0], [0.25, 0.0]]}
    traced = client.post("/api/v1/trace", json=body).json()
    assert np.shape(traced["layers"][0]["f"]) == (2, 3)


def test_layout_onnx_on_a_safetensors_file_is_refused(client: TestClient) -> None:
    res = client.post(
        "/api/v1/models",
        data={"cell": "lstm", "layout": "onnx"},
        files={"file": ("m.safetensors", b"\x00" * 16)},
    )
    assert res.status_code == 422
    assert res.json()["details"] == [
        {"field": "layout", "message": "layout onnx needs an .onnx file"}
    ]
