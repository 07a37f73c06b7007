"""An nn.LSTM(proj_size=P) saved as torch users save it, uploaded and traced through the API:
the answer's tensor roles, the JSON and safetensors traces with h_unprojected, h0 of P units,
gradients and the models description."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from fastapi.testclient import TestClient

from app.engine import run_trace
from tests.api.helpers import VOCAB, lstm_weights, upload
from tests.api.test_torch_upload import _torch

pytestmark = pytest.mark.torch

H, P = 6, 3
TEXT = "abc. cab a.b"


def _model(torch: Any, bidirectional: bool) -> Any:
    class Projected(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.rnn = torch.nn.LSTM(
                len(VOCAB), H, num_layers=2, proj_size=P, bidirectional=bidirectional
            )
            self.head = torch.nn.Linear(P * (1 + bidirectional), len(VOCAB))

        def forward(self, x: Any) -> Any:
            out, state = self.rnn(x)
            return out, self.head(out), state

    torch.manual_seed(1)
    return Projected().double().eval()


def _upload(client: TestClient, tmp_path: Path, model: Any) -> dict[str, Any]:
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file(model.state_dict(), str(path))
    res = client.post(
        "/api/v1/models",
        data={"cell": "lstm", "layout": "torch", "name": "proj", "vocab": json.dumps(VOCAB)},
        files={"file": ("model.safetensors", path.read_bytes())},
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_projected_torch_lstm_uploads_and_traces_like_torch(
    client: TestClient, tmp_path: Path, bidirectional: bool
) -> None:
    torch = _torch()
    model = _model(torch, bidirectional)
    info = _upload(client, tmp_path, model)
    assert (info["hidden_size"], info["proj_size"], info["readout_size"]) == (H, P, len(VOCAB))
    roles = {r["name"]: r for r in info["tensor_roles"]}
    assert roles["rnn.weight_hr_l1"] == {
        "name": "rnn.weight_hr_l1", "layer": 1, "direction": "forward",
        "role": "projection", "became": ["weight_hr_l1"],
    }  # fmt: skip
    assert roles["rnn.weight_hh_l0"]["role"] == "recurrent"
    if bidirectional:
        assert roles["rnn.weight_hr_l0_reverse"]["direction"] == "backward"
    assert "rnn.weight_hr_l0" in info["used_tensors"]
    assert client.get(f"/api/v1/models/{info['id']}").json()["proj_size"] == P

    body = {"model": {"id": info["id"]}, "text": TEXT, "dtype": "float64"}
    traced = client.post("/api/v1/trace", json=body).json()
    assert traced["proj_size"] == P
    x = torch.eye(len(VOCAB), dtype=torch.float64)[[VOCAB.index(ch) for ch in TEXT]]
    with torch.no_grad():
        out, logits, (h_n, c_n) = model(x.unsqueeze(1))
    top = traced["layers"][-1]
    h = np.concatenate([top["h"], top["backward"]["h"]], -1) if bidirectional else top["h"]
    np.testing.assert_allclose(h, out[:, 0].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(traced["readout"]["logits"], logits[:, 0].numpy(), atol=1e-12)
    np.testing.assert_allclose(traced["h_n"], h_n[:, 0].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(traced["c_n"], c_n[:, 0].numpy(), rtol=0, atol=1e-12)
    w_hr = model.rnn.weight_hr_l1.detach().numpy()
    m = np.asarray(top["h_unprojected"])
    assert m.shape == (len(TEXT), H) and np.shape(top["h"]) == (len(TEXT), P)
    np.testing.assert_allclose(m, np.asarray(top["o"]) * np.tanh(top["c"]), atol=1e-15)
    np.testing.assert_allclose(top["h"], m @ w_hr.T, atol=1e-15)

    blob = client.post("/api/v1/trace", json={**body, "format": "safetensors"}).content
    tensors = safetensors.numpy.load(blob)
    np.testing.assert_array_equal(tensors["layers.1.h_unprojected"], m)
    np.testing.assert_array_equal(tensors["layers.1.h"], np.asarray(top["h"]))
    (size,) = np.frombuffer(blob[:8], "<u8")
    meta = json.loads(blob[8 : 8 + int(size)])["__metadata__"]
    assert meta["proj_size"] == str(P) and json.loads(meta["fields"])[-1] == "h_unprojected"


def test_h0_has_proj_size_units_and_gradients_reach_weight_hr(
    client: TestClient, tmp_path: Path
) -> None:
    torch = _torch()
    model = _model(torch, False)
    info = _upload(client, tmp_path, model)
    ref = {"id": info["id"]}
    inputs = np.eye(len(VOCAB))[[0, 1, 2]].tolist()
    bad = client.post("/api/v1/trace", json={"model": ref, "inputs": inputs, "h0": [[0.0] * H] * 2})
    assert bad.status_code == 422 and "h0[0] has 6 numbers, expected 3" in bad.text, bad.text
    h0 = [[0.1] * P, [-0.2] * P]
    c0 = [[0.3] * H, [0.0] * H]
    traced = client.post("/api/v1/trace", json={"model": ref, "inputs": inputs, "h0": h0, "c0": c0})
    assert traced.status_code == 200, traced.text
    with torch.no_grad():
        state = (torch.tensor(h0).unsqueeze(1).double(), torch.tensor(c0).unsqueeze(1).double())
        out, _ = model.rnn(torch.tensor(inputs).unsqueeze(1).double(), state)
    np.testing.assert_allclose(traced.json()["layers"][1]["h"], out[:, 0].numpy(), atol=1e-12)
    loss = {"kind": "mse_h", "targets": [[0.5] * P] * 3}
    grads = client.post("/api/v1/gradients", json={"model": ref, "inputs": inputs, "loss": loss})
    assert grads.status_code == 200, grads.text
    norms = grads.json()["param_norms"]
    assert norms["weight_hr_l0"] > 0 and norms["weight_hr_l1"] > 0


def test_a_model_without_projection_keeps_the_old_answer(client: TestClient) -> None:
    info = upload(client, lstm_weights()).json()
    assert "tensor_roles" not in info or info["tensor_roles"] is None
    assert info.get("proj_size", 0) == 0
    traced = client.post(
        "/api/v1/trace", json={"model": {"id": info["id"]}, "inputs": [[0.0, 1.0]]}
    ).json()
    assert "proj_size" not in traced and "h_unprojected" not in traced["layers"][0]
    blob = client.post(
        "/api/v1/trace",
        json={"model": {"id": info["id"]}, "inputs": [[0.0, 1.0]], "format": "safetensors"},
    ).content
    assert not any("h_unprojected" in k for k in safetensors.numpy.load(blob))


def test_a_misshapen_projection_is_a_422_naming_the_tensor(client: TestClient) -> None:
    torch = _torch()
    sd = {k: v.numpy() for k, v in torch.nn.LSTM(2, H, proj_size=P).state_dict().items()}
    sd["weight_hr_l0"] = np.zeros((P, H + 1), dtype=np.float32)
    res = upload(client, sd)
    assert res.status_code == 422
    assert "weight_hr_l0 has shape (3, 7), expected (proj_size, 6)" in res.text


def test_engine_and_api_agree_on_a_projected_trace(client: TestClient, tmp_path: Path) -> None:
    torch = _torch()
    model = _model(torch, True)
    info = _upload(client, tmp_path, model)
    inputs = np.eye(len(VOCAB))[[3, 1, 4]]
    got = client.post(
        "/api/v1/trace", json={"model": {"id": info["id"]}, "inputs": inputs.tolist()}
    ).json()
    params = {k: v.detach().numpy() for k, v in model.rnn.state_dict().items()}
    want = run_trace("lstm", params, inputs)
    assert want.backward is not None
    np.testing.assert_allclose(got["layers"][0]["backward"]["h_unprojected"],
                               want.backward[0]["h_unprojected"], rtol=0, atol=1e-15)  # fmt: skip


def test_live_stepping_a_projected_model_equals_its_trace(
    client: TestClient, tmp_path: Path
) -> None:
    torch = _torch()
    info = _upload(client, tmp_path, _model(torch, False))
    ref = {"id": info["id"]}
    inputs = np.eye(len(VOCAB))[[2, 0, 4, 1]].tolist()
    batch = client.post("/api/v1/trace", json={"model": ref, "inputs": inputs}).json()
    with client.websocket_connect("/api/v1/step") as ws:
        ws.send_text(json.dumps({"type": "open", "model": ref}))
        ready = ws.receive_json()
        assert (ready["hidden_size"], ready["proj_size"]) == (H, P)
        answers = []
        for x in inputs:
            ws.send_text(json.dumps({"type": "step", "input": x}))
            answers.append(ws.receive_json())
    for layer in range(2):
        for field in ("h", "h_unprojected", "c"):
            got = np.array([a["layers"][layer][field] for a in answers])
            np.testing.assert_allclose(got, batch["layers"][layer][field], rtol=0, atol=1e-14)
