"""Bidirectional models through the API: upload a torch tagger, trace it (JSON and
safetensors), clamp a direction, and refuse what cannot run one way only."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from fastapi.testclient import TestClient

from app.engine import run_trace
from app.engine.layouts_torch import convert_torch
from tests.api.helpers import VOCAB
from tests.api.test_torch_upload import _torch

RANDOM_BI = {"cell": "gru", "input_size": 2, "hidden_size": 3, "num_layers": 2,
             "bidirectional": True, "seed": 4}  # fmt: skip
INPUTS = [[0.5, -1.0], [0.25, 0.0], [-0.75, 1.0], [0.0, 0.5]]


def _tagger(torch: Any) -> Any:
    class Tagger(torch.nn.Module):  # type: ignore[misc]
        """A 2-layer bidirectional LSTM tagger: embedding, BiLSTM, a linear head on 2H."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(len(VOCAB), 6)
            self.lstm = torch.nn.LSTM(6, 8, num_layers=2, bidirectional=True)
            self.head = torch.nn.Linear(16, len(VOCAB))

        def forward(self, tokens: Any) -> Any:
            out, _ = self.lstm(self.embed(tokens))
            return out, self.head(out).softmax(-1)

    torch.manual_seed(1)
    return Tagger().double().eval()


@pytest.mark.torch
def test_bidirectional_torch_tagger_uploads_and_traces_like_torch(
    client: TestClient, tmp_path: Path
) -> None:
    torch = _torch()
    from safetensors.torch import save_file

    model = _tagger(torch)
    path = tmp_path / "tagger.safetensors"
    save_file(model.state_dict(), str(path))
    res = client.post(
        "/api/v1/models",
        data={"cell": "lstm", "layout": "torch", "name": "tagger", "vocab": json.dumps(VOCAB)},
        files={"file": ("tagger.safetensors", path.read_bytes())},
    )
    assert res.status_code == 201, res.text
    info = res.json()
    model_id = info["model"]["id"] if "model" in info else info["id"]
    used = res.json().get("used_tensors", [])
    assert "lstm.weight_hh_l1_reverse" in used and "embed.weight" in used
    listed = {m["id"]: m for m in client.get("/api/v1/models").json()["models"]}
    assert listed[model_id]["num_directions"] == 2 and listed[model_id]["num_layers"] == 2

    text = "abc. cab"
    res = client.post("/api/v1/trace", json={"model": {"id": model_id}, "text": text})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["num_directions"] == 2 and len(body["h_n"]) == 4
    ids = torch.tensor([VOCAB.index(ch) for ch in body["tokens"]])
    with torch.no_grad():
        out, probs = model(ids)
    H = 8
    top = body["layers"][1]
    np.testing.assert_allclose(top["h"], out[:, :H].numpy(), atol=1e-12)
    np.testing.assert_allclose(top["backward"]["h"], out[:, H:].numpy(), atol=1e-12)
    np.testing.assert_allclose(body["readout"]["probs"], probs.numpy(), atol=1e-12)
    assert set(top["backward"]) == set(top) - {"backward"}  # every field, both directions


def test_random_bidirectional_trace_answers_both_directions_in_json_and_safetensors(
    client: TestClient,
) -> None:
    json_body = client.post("/api/v1/trace", json={"model": RANDOM_BI, "inputs": INPUTS}).json()
    blob = client.post(
        "/api/v1/trace", json={"model": RANDOM_BI, "inputs": INPUTS, "format": "safetensors"}
    ).content
    tensors = safetensors.numpy.load(blob)
    assert sorted(k for k in tensors if k.startswith("layers.1.backward.")) == [
        "layers.1.backward.h", "layers.1.backward.n", "layers.1.backward.r",
        "layers.1.backward.z",
    ]  # fmt: skip
    assert tensors["h_n"].shape == (4, 3)
    for k in range(2):
        for field in ("r", "z", "n", "h"):
            np.testing.assert_allclose(
                json_body["layers"][k]["backward"][field],
                tensors[f"layers.{k}.backward.{field}"],
                atol=1e-15,
            )
    # the backward direction's last step (t = T-1) is its first: it read only the last input
    from app.engine.params import init_params

    params = init_params("gru", 2, 3, 2, 4, 2)
    ref = run_trace("gru", params, np.array(INPUTS))
    assert ref.backward is not None
    np.testing.assert_allclose(tensors["layers.0.backward.h"], ref.backward[0]["h"], atol=0)


def test_one_directional_trace_keeps_its_shape(client: TestClient) -> None:
    model = {**RANDOM_BI, "bidirectional": False}
    body = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS}).json()
    assert "num_directions" not in body and "backward" not in body["layers"][0]
    assert len(body["h_n"]) == 2


def test_clamp_names_its_direction(client: TestClient) -> None:
    clamp = {"field": "z", "value": 1.0, "steps": [1], "direction": "backward"}
    req = {"model": RANDOM_BI, "inputs": INPUTS, "clamp": [clamp]}
    body = client.post("/api/v1/trace", json=req).json()
    assert body["layers"][0]["backward"]["z"][1] == [1.0, 1.0, 1.0]
    assert body["layers"][0]["z"][1] != [1.0, 1.0, 1.0]
    one_way = {**req, "model": {**RANDOM_BI, "bidirectional": False}}
    res = client.post("/api/v1/trace", json=one_way)
    assert res.status_code == 422 and "forward only" in res.json()["message"]


def test_bidirectional_h0_needs_a_row_per_layer_and_direction(client: TestClient) -> None:
    res = client.post(
        "/api/v1/trace", json={"model": RANDOM_BI, "inputs": INPUTS, "h0": [[0, 0, 0]] * 2}
    )
    assert res.status_code == 422
    assert "expected one per layer and direction (4)" in res.json()["message"]


def test_gradients_and_live_stepping_refuse_bidirectional_by_name(client: TestClient) -> None:
    res = client.post(
        "/api/v1/gradients",
        json={"model": RANDOM_BI, "inputs": INPUTS, "loss": {"kind": "unit"}},
    )
    assert res.status_code == 422, res.text
    assert "one-directional" in res.json()["message"]
    with client.websocket_connect("/api/v1/step") as ws:
        ws.send_json({"type": "open", "model": RANDOM_BI})
        reply = ws.receive_json()
    assert reply["type"] == "error" and "one-directional" in reply["message"]


def test_convert_torch_folds_the_embedding_into_both_directions() -> None:
    rng = np.random.default_rng(0)
    H, V, D = 3, 5, 2
    sd = {
        f"rnn.{n}_l0{s}": rng.standard_normal(shape)
        for s in ("", "_reverse")
        for n, shape in (
            ("weight_ih", (H, D)),
            ("weight_hh", (H, H)),
            ("bias_ih", (H,)),
            ("bias_hh", (H,)),
        )
    }
    sd["embed.weight"] = rng.standard_normal((V, D))
    conv = convert_torch("rnn_tanh", sd, vocab_size=V)
    for s in ("", "_reverse"):
        np.testing.assert_allclose(
            conv.params[f"weight_ih_l0{s}"], sd[f"rnn.weight_ih_l0{s}"] @ sd["embed.weight"].T
        )


@pytest.mark.parametrize("cell", ["lstm", "gru", "lstm_peephole", "rnn_tanh"])
@pytest.mark.parametrize(("layers", "directions"), [(1, 1), (3, 1), (1, 2), (3, 2)])
def test_parameter_limit_counts_every_number_of_both_directions(
    cell: str, layers: int, directions: int
) -> None:
    from app.api.limits import parameter_count
    from app.engine.params import expected_shapes

    shapes = expected_shapes(cell, 5, 7, layers, directions)
    assert parameter_count(cell, 5, 7, layers, directions) == sum(
        int(np.prod(s)) for s in shapes.values()
    )
