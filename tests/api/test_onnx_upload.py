"""torch modules exported with torch.onnx.export, uploaded as .onnx and traced like torch.

Every gate and state of every layer and direction is compared with torch: h and c from
torch's own layers, the gates recomputed from torch's weights and torch's h_{t-1}, c_{t-1}.
"""

import io
import json
import warnings
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import VOCAB
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.torch
TEXT = "abc. cab a"
H = 6


def _torch() -> Any:
    try:
        import onnx  # noqa: F401
        import torch
    except ImportError:
        skip_or_fail("torch and onnx are needed (pip install '.[torch,test]')")
    return torch


def _model(torch: Any, kind: str, layers: int, bidirectional: bool, head: bool) -> Any:
    class Net(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN}[kind]
            self.rnn = rnn(len(VOCAB), H, num_layers=layers, bidirectional=bidirectional)
            self.head = torch.nn.Linear(H * (2 if bidirectional else 1), len(VOCAB))
            self.use_head = head

        def forward(self, x: Any) -> Any:
            out = self.rnn(x)[0]
            return self.head(out) if self.use_head else out

    torch.manual_seed(3)
    return Net().eval()


def _export(torch: Any, model: Any, x: Any, dynamo: bool = False) -> bytes:
    """torch.onnx.export as a user runs it: the default (dynamo) exporter or the TorchScript one."""
    if dynamo:
        try:
            import onnxscript  # noqa: F401
        except ImportError:
            skip_or_fail("the dynamo exporter needs onnxscript (pip install '.[test]')")
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buffer, dynamo=dynamo, verbose=False)
    return buffer.getvalue()


def _gates(torch: Any, kind: str, rnn: Any, k: int, sfx: str, x: Any) -> dict[str, Any]:
    """torch's own pass of layer k (one direction), and its gates from torch's weights."""
    get = {
        n: getattr(rnn, f"{n}_l{k}{sfx}").detach().double()
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    }
    xs = x.flip(0) if sfx else x
    h = torch.zeros(H, dtype=torch.float64)
    c = torch.zeros(H, dtype=torch.float64)
    rows: dict[str, list[Any]] = {}
    for xt in xs:
        a = get["weight_ih"] @ xt + get["bias_ih"]
        b = get["weight_hh"] @ h + get["bias_hh"]
        if kind == "lstm":
            i, f, g, o = (a + b).chunk(4)
            step = {"i": i.sigmoid(), "f": f.sigmoid(), "g": g.tanh(), "o": o.sigmoid()}
            c = step["f"] * c + step["i"] * step["g"]
            h = step["o"] * c.tanh()
            step["c"] = c
        elif kind == "gru":
            (ar, az, an), (br, bz, bn) = a.chunk(3), b.chunk(3)
            r, z = (ar + br).sigmoid(), (az + bz).sigmoid()
            n = (an + r * bn).tanh()
            h = (1 - z) * n + z * h
            step = {"r": r, "z": z, "n": n}
        else:
            h = (a + b).tanh()
            step = {}
        step["h"] = h
        for name, v in step.items():
            rows.setdefault(name, []).append(v)
    out = {n: torch.stack(v) for n, v in rows.items()}
    return {n: v.flip(0) for n, v in out.items()} if sfx else out


CASES = [
    ("lstm", 1, False, True, False),
    ("gru", 1, False, False, False),
    ("rnn_tanh", 1, False, True, False),
    ("lstm", 2, True, True, False),
    ("gru", 2, True, True, False),
    ("lstm", 2, True, True, True),  # torch.onnx.export's default exporter (dynamo)
    ("gru", 1, True, False, True),
]


@pytest.mark.parametrize(("kind", "layers", "bidirectional", "head", "dynamo"), CASES)
def test_torch_onnx_export_uploads_and_traces_like_torch(
    client: TestClient, kind: str, layers: int, bidirectional: bool, head: bool, dynamo: bool
) -> None:
    torch = _torch()
    model = _model(torch, kind, layers, bidirectional, head)
    x = torch.eye(len(VOCAB))[[VOCAB.index(ch) for ch in TEXT]].unsqueeze(1)  # (T, 1, V)
    res = client.post(
        "/api/v1/models",
        data={"cell": kind, "name": "exported", "vocab": json.dumps(VOCAB)},
        files={"file": ("model.onnx", _export(torch, model, x, dynamo))},
    )
    assert res.status_code == 201, res.text
    info = res.json()
    assert info["layout"] == "onnx" and info["num_layers"] == layers
    assert info["readout_size"] == (len(VOCAB) if head else None)
    top = f"weight_hh_l{layers - 1}{'_reverse' if bidirectional else ''}"
    assert any(f"-> {top} (layer {layers - 1}" in u for u in info["used_tensors"])

    body = {"model": {"id": info["id"]}, "text": TEXT, "dtype": "float64"}
    traced = client.post("/api/v1/trace", json=body).json()
    with torch.no_grad():
        out = model(x)[:, 0].double()
        inp = x[:, 0].double()
        for k in range(layers):
            layer = traced["layers"][k]
            directions = [("", layer)] + (
                [("_reverse", layer["backward"])] if bidirectional else []
            )
            outs = []
            for sfx, got in directions:
                want = _gates(torch, kind, model.rnn, k, sfx, inp)
                for name, value in want.items():
                    np.testing.assert_allclose(got[name], value.numpy(), atol=1e-5, err_msg=name)
                outs.append(want["h"])
            inp = torch.cat(outs, dim=-1)
        if head:
            np.testing.assert_allclose(traced["readout"]["logits"], out.numpy(), atol=1e-5)
        else:
            top_h = [traced["layers"][-1]["h"]]
            top_h += [traced["layers"][-1]["backward"]["h"]] if bidirectional else []
            np.testing.assert_allclose(np.concatenate(top_h, -1), out.numpy(), atol=1e-5)


def test_onnx_upload_refuses_a_keras_layout_and_a_wrong_cell(client: TestClient) -> None:
    torch = _torch()
    model = _model(torch, "gru", 1, False, False)
    x = torch.zeros(3, 1, len(VOCAB))
    blob = _export(torch, model, x)
    res = client.post(
        "/api/v1/models", data={"cell": "gru", "layout": "keras"}, files={"file": ("m.onnx", blob)}
    )
    assert res.status_code == 422 and "layout" in res.text
    res = client.post("/api/v1/models", data={"cell": "lstm"}, files={"file": ("m.onnx", blob)})
    assert res.status_code == 422 and "holds a gru model" in res.text


def test_dynamo_export_of_a_plain_rnn_is_refused_with_what_to_do(client: TestClient) -> None:
    torch = _torch()
    model = _model(torch, "rnn_tanh", 1, False, True)
    blob = _export(torch, model, torch.zeros(3, 1, len(VOCAB)), dynamo=True)
    res = client.post("/api/v1/models", data={"cell": "rnn_tanh"}, files={"file": ("m.onnx", blob)})
    assert res.status_code == 422 and "dynamo=False" in res.json()["message"]
