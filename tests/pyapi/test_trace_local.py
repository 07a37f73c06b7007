"""gatescope.trace on live models: torch's own outputs, and the server's trace of the same
weights uploaded through the API, both within float64 rounding."""

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

import gatescope
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.torch
VOCAB = ["a", "b", "c", "d", " ", "."]


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        skip_or_fail("torch is not installed (pip install '.[torch]')")
    return torch


class _Chars:
    """embedding -> LSTM -> Linear, what people train on characters."""

    @staticmethod
    def make(torch: Any) -> Any:
        class CharModel(torch.nn.Module):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self.embed = torch.nn.Embedding(len(VOCAB), 3)
                self.lstm = torch.nn.LSTM(3, 5, num_layers=2)
                self.head = torch.nn.Linear(5, len(VOCAB))

            def forward(self, ids: Any) -> Any:
                out, state = self.lstm(self.embed(ids))
                return out, self.head(out), state

        torch.manual_seed(0)
        return CharModel().double().eval()


def test_gates_equal_torch_lstm_cell_by_cell() -> None:
    torch = _torch()
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(3, 4, dtype=torch.float64)
    x = torch.randn(7, 3, dtype=torch.float64)
    tr = gatescope.trace(lstm, x)
    W_ih, W_hh = lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach()
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()
    h = c = torch.zeros(4, dtype=torch.float64)
    for t in range(7):  # torch's documented equations, gate order i, f, g, o
        i, f, g, o = (W_ih @ x[t] + W_hh @ h + b).chunk(4)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        for name, want in (("i", i), ("f", f), ("g", g), ("o", o), ("c", c), ("h", h)):
            np.testing.assert_allclose(tr.layers[0][name][t], want.numpy(), rtol=0, atol=1e-14)
    out, (h_n, c_n) = lstm(x)
    np.testing.assert_allclose(tr.layers[0].h, out.detach().numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(tr.h_n, h_n.detach().numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(tr.c_n, c_n.detach().numpy(), rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind", ["gru", "rnn_relu"])
def test_batch_first_bidirectional_modules_equal_torch(kind: str) -> None:
    torch = _torch()
    torch.manual_seed(2)
    if kind == "gru":
        rnn = torch.nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    else:
        rnn = torch.nn.RNN(3, 4, nonlinearity="relu", batch_first=True, bidirectional=True)
    rnn = rnn.double()
    x = torch.randn(2, 6, 3, dtype=torch.float64)  # (batch, steps, D)
    tr = gatescope.trace(rnn, x)
    out, h_n = rnn(x)
    assert tr.cell == kind and tr.num_directions == 2 and tr.layers[-1].h.shape == (6, 2, 4)
    top = tr.layers[-1]
    both = np.concatenate([top.h, top.backward.h], axis=-1).swapaxes(0, 1)
    np.testing.assert_allclose(both, out.detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(tr.h_n, h_n.detach().numpy(), rtol=0, atol=1e-13)


def test_embedding_lstm_linear_equals_torch_and_the_server(
    client: TestClient, tmp_path: Path
) -> None:
    torch = _torch()
    from safetensors.torch import save_file

    model = _Chars.make(torch)
    ids = np.array([0, 1, 2, 3, 4, 5, 2, 0])
    tr = gatescope.trace(model, ids, tokens=[VOCAB[i] for i in ids])
    out, logits, _ = model(torch.from_numpy(ids))
    np.testing.assert_allclose(tr.layers[1].h, out.detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(tr.logits, logits.detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_array_equal(tr.inputs, model.embed.weight.detach().numpy()[ids])
    assert tr.tokens == [VOCAB[i] for i in ids]

    path = tmp_path / "m.safetensors"
    save_file(model.state_dict(), str(path))
    res = client.post(
        "/api/v1/models",
        data={"cell": "lstm", "layout": "torch", "name": "chars", "vocab": json.dumps(VOCAB)},
        files={"file": ("m.safetensors", path.read_bytes())},
    )
    assert res.status_code == 201, res.text
    text = "".join(VOCAB[i] for i in ids)
    served = client.post(
        "/api/v1/trace", json={"model": {"id": res.json()["id"]}, "text": text}
    ).json()
    for k in range(2):
        for field, value in served["layers"][k].items():
            np.testing.assert_allclose(tr.layers[k][field], value, rtol=0, atol=1e-10)
    np.testing.assert_allclose(tr.probs, served["readout"]["probs"], rtol=0, atol=1e-10)


def test_keras_layer_and_model_equal_keras() -> None:
    _torch()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        skip_or_fail("keras is not installed")
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(3).normal(size=(1, 5, 3))
    layer = keras.layers.GRU(4, return_sequences=True)
    want = keras.ops.convert_to_numpy(layer(x.astype("float32")))
    tr = gatescope.trace(layer, x)
    assert tr.cell == "gru"
    np.testing.assert_allclose(tr.layers[0].h[:, 0], want[0], rtol=0, atol=1e-5)
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, return_sequences=True),
                              keras.layers.Dense(2)])  # fmt: skip
    tr = gatescope.trace(model, x[0])
    want = keras.ops.convert_to_numpy(model(x.astype("float32")))[0]
    np.testing.assert_allclose(tr.logits, want, rtol=0, atol=1e-5)
    L = keras.layers
    chars = keras.Sequential([keras.Input((None,), dtype="int32"), L.Embedding(6, 3),
                              L.LSTM(4, return_sequences=True), L.Dense(6)])  # fmt: skip
    ids = np.array([[0, 5, 2, 3]])  # (batch, steps), Keras's layout
    tr = gatescope.trace(chars, ids)
    want = keras.ops.convert_to_numpy(chars(ids))
    assert tr.logits is not None and tr.logits.shape == (4, 1, 6)  # (steps, batch, classes)
    np.testing.assert_allclose(tr.logits[:, 0], want[0], rtol=0, atol=1e-5)


def test_onnx_model_proto_equals_torch(tmp_path: Path) -> None:
    torch = _torch()
    import onnx

    class Net(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(3, 4)
            self.head = torch.nn.Linear(4, 2)

        def forward(self, x: Any) -> Any:
            return self.head(self.lstm(x)[0])

    torch.manual_seed(4)
    net = Net().eval()
    x = torch.randn(6, 1, 3)
    path = tmp_path / "m.onnx"
    torch.onnx.export(net, (x,), str(path), dynamo=False)
    tr = gatescope.trace(onnx.load(str(path)), x.double())
    out, _ = net.lstm(x)
    np.testing.assert_allclose(tr.layers[0].h, out.detach().numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(tr.logits, net(x).detach().numpy(), rtol=0, atol=1e-6)


def test_other_objects_and_bad_inputs_are_refused_by_name() -> None:
    with pytest.raises(gatescope.ModelError, match=r"got builtins\.dict"):
        gatescope.trace({"weight_ih_l0": [[1.0]]}, np.zeros((2, 1)))
    torch = _torch()
    two = torch.nn.Sequential(torch.nn.LSTM(2, 3), torch.nn.GRU(3, 3))
    with pytest.raises(gatescope.ModelError, match=r"exactly one.*0 \(LSTM\), 1 \(GRU\)"):
        gatescope.trace(two, np.zeros((2, 2)))
    with pytest.raises(gatescope.ModelError, match=r"token ids must be in \[0, 6\)"):
        gatescope.trace(_Chars.make(torch), np.array([1, 6]))
    with pytest.raises(gatescope.ModelError, match=r"need exactly one nn\.Embedding"):
        gatescope.trace(torch.nn.LSTM(2, 3), np.array([0, 1]))
