"""A real PyTorch model, saved as torch users save it, uploaded and traced through the API."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import VOCAB
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.torch

TEXT = "abc. cab a.b"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        skip_or_fail("torch is not installed (pip install '.[torch]')")
    return torch


def _model(torch: Any, kind: str, layers: int) -> Any:
    class CharModel(torch.nn.Module):  # type: ignore[misc]
        """An RNN inside a module with a Linear readout: what people actually train."""

        def __init__(self) -> None:
            super().__init__()
            rnn = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
            self.rnn = rnn(len(VOCAB), 16, num_layers=layers)
            self.head = torch.nn.Linear(16, len(VOCAB))

        def forward(self, x: Any) -> Any:
            out, state = self.rnn(x)
            return out, self.head(out), state

    torch.manual_seed(0)
    return CharModel().eval()


@pytest.mark.parametrize(("kind", "layers"), [("lstm", 2), ("gru", 1)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_saved_torch_module_uploads_and_traces_like_torch(
    client: TestClient, tmp_path: Path, kind: str, layers: int, dtype: str
) -> None:
    torch = _torch()
    from safetensors.torch import save_file

    model = _model(torch, kind, layers)
    path = tmp_path / "model.safetensors"
    save_file(model.state_dict(), str(path))
    res = client.post(
        "/api/v1/models",
        data={"cell": kind, "layout": "torch", "name": "torch", "vocab": json.dumps(VOCAB)},
        files={"file": ("model.safetensors", path.read_bytes())},
    )
    assert res.status_code in (200, 201), res.text
    assert res.json()["readout_size"] == len(VOCAB)

    body = {"model": {"id": res.json()["id"]}, "text": TEXT, "dtype": dtype}
    traced = client.post("/api/v1/trace", json=body).json()

    x = torch.eye(len(VOCAB))[[VOCAB.index(ch) for ch in TEXT]].unsqueeze(1)  # (T, 1, V)
    with torch.no_grad():
        out, logits, state = model(x)  # float32, as the model was trained
    h_n = state[0] if kind == "lstm" else state
    # float64 output: within 1e-5 of torch's float32 pass; float32 output: the same plus the
    # display rounding to 5 decimals (half a unit of the last place, 5e-6).
    tol = 1e-5 if dtype == "float64" else 1e-5 + 5e-6
    top = traced["layers"][-1]
    np.testing.assert_allclose(top["h"], out[:, 0].numpy(), atol=tol)
    np.testing.assert_allclose(traced["readout"]["logits"], logits[:, 0].numpy(), atol=tol)
    probs = torch.softmax(logits[:, 0], dim=-1).numpy()
    np.testing.assert_allclose(traced["readout"]["probs"], probs, atol=tol)
    np.testing.assert_allclose(traced["h_n"], h_n[:, 0].numpy(), atol=tol)
    if kind == "lstm":
        np.testing.assert_allclose(traced["c_n"], state[1][:, 0].numpy(), atol=tol)
    if dtype == "float32":
        h = np.asarray(top["h"])
        np.testing.assert_array_equal(h, np.round(h, 5))


def _embedded_model(torch: Any, width: int) -> Any:
    class Embedded(torch.nn.Module):  # type: ignore[misc]
        """nn.Embedding -> nn.LSTM -> nn.Linear: the usual char-level language model."""

        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(len(VOCAB), width)
            self.rnn = torch.nn.LSTM(width, 6)
            self.head = torch.nn.Linear(6, len(VOCAB))

        def forward(self, ids: Any) -> Any:
            out, _ = self.rnn(self.emb(ids))
            return out, self.head(out)

    torch.manual_seed(0)
    return Embedded().eval()


# width 5 = the vocabulary: the tokens once went one-hot straight into W_ih, the embedding unused
@pytest.mark.parametrize("width", [3, len(VOCAB)])
def test_an_embedding_model_uploads_and_traces_text_like_torch(
    client: TestClient, tmp_path: Path, width: int
) -> None:
    torch = _torch()
    from safetensors.torch import save_file

    model = _embedded_model(torch, width)
    path = tmp_path / "model.safetensors"
    save_file(model.state_dict(), str(path))
    res = client.post(
        "/api/v1/models",
        data={"cell": "lstm", "name": "embedded", "vocab": json.dumps(VOCAB)},
        files={"file": ("model.safetensors", path.read_bytes())},
    )
    assert res.status_code == 201, res.text
    answer = res.json()
    assert answer["input_size"] == len(VOCAB) and answer["readout_size"] == len(VOCAB)
    assert sorted(answer["used_tensors"]) == sorted(model.state_dict())  # emb, rnn and head
    assert answer["ignored_tensors"] == []

    body = {"model": {"id": answer["id"]}, "text": TEXT, "dtype": "float64"}
    traced = client.post("/api/v1/trace", json=body).json()
    ids = torch.tensor([VOCAB.index(ch) for ch in TEXT]).unsqueeze(1)  # (T, 1)
    with torch.no_grad():
        out, logits = model(ids)
    np.testing.assert_allclose(traced["layers"][0]["h"], out[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(traced["readout"]["logits"], logits[:, 0].numpy(), atol=1e-5)


def test_an_upload_lists_the_tensors_it_left_out_with_the_reason(
    client: TestClient, tmp_path: Path
) -> None:
    torch = _torch()
    from safetensors.torch import save_file

    class TwoLayerHead(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.rnn = torch.nn.GRU(2, 4)
            self.fc1 = torch.nn.Linear(4, 8)
            self.fc2 = torch.nn.Linear(8, 3)

    path = tmp_path / "model.safetensors"
    save_file(TwoLayerHead().state_dict(), str(path))
    res = client.post(
        "/api/v1/models",
        data={"cell": "gru", "name": "head"},
        files={"file": ("model.safetensors", path.read_bytes())},
    )
    assert res.status_code == 201, res.text
    # fc1 reads h but fc2 reads fc1: taking fc1 as the readout was silently wrong
    assert res.json()["readout_size"] is None
    ignored = {t["name"]: t["reason"] for t in res.json()["ignored_tensors"]}
    assert set(ignored) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert "fc2 may read or change its output (a head of several layers)" in ignored["fc1.weight"]
    codes = {t["name"]: t["code"] for t in res.json()["ignored_tensors"]}
    assert codes == {"fc1.weight": "possible_readout", "fc1.bias": "possible_readout",
                     "fc2.weight": "unrelated", "fc2.bias": "unrelated"}  # fmt: skip
    used = [n for n in TwoLayerHead().state_dict() if n.startswith("rnn.")]
    assert sorted(res.json()["used_tensors"]) == sorted(used)


def test_a_bfloat16_checkpoint_uploads_and_traces_like_its_float32_copy(
    client: TestClient, tmp_path: Path
) -> None:
    torch = _torch()
    from safetensors.torch import save_file

    model = _model(torch, "lstm", 1).to(torch.bfloat16)
    path = tmp_path / "model.safetensors"
    save_file(model.state_dict(), str(path))  # was refused: "BF16 is not supported"
    res = client.post(
        "/api/v1/models",
        data={"cell": "lstm", "name": "bf16", "vocab": json.dumps(VOCAB)},
        files={"file": ("model.safetensors", path.read_bytes())},
    )
    assert res.status_code == 201, res.text
    body = {"model": {"id": res.json()["id"]}, "text": TEXT, "dtype": "float64"}
    traced = client.post("/api/v1/trace", json=body).json()
    x = torch.eye(len(VOCAB))[[VOCAB.index(ch) for ch in TEXT]].unsqueeze(1)
    with torch.no_grad():
        out, logits, _ = model.float()(x)  # bfloat16 -> float32 is exact
    np.testing.assert_allclose(traced["layers"][0]["h"], out[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(traced["readout"]["logits"], logits[:, 0].numpy(), atol=1e-5)
