"""Live parity with PyTorch whenever torch is importable (in CI its absence is a failure)."""

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from app.engine import from_torch, run_trace
from tests.engine.conftest import TORCH_MODULES, torch_module

pytestmark = pytest.mark.torch

TOL = {"float64": 1e-10, "float32": 1e-5}


@pytest.mark.parametrize("cell", list(TORCH_MODULES))
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("batch", [None, 1, 4])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_layer_matches_torch(
    torch: ModuleType, cell: str, layers: int, batch: int | None, dtype: str
) -> None:
    torch.manual_seed(layers * 10 + (batch or 0))
    tdtype = getattr(torch, dtype)
    D, H, T = 5, 7, 9
    module = torch_module(torch, cell, D, H, layers).to(tdtype)
    params, _ = from_torch(cell, {k: v.numpy() for k, v in module.state_dict().items()})
    rng = np.random.default_rng(layers)
    x = rng.standard_normal((T, D) if batch is None else (T, batch, D))
    state_shape = (layers, H) if batch is None else (layers, batch, H)
    h0, c0 = 0.5 * rng.standard_normal(state_shape), 0.5 * rng.standard_normal(state_shape)
    is_lstm = cell == "lstm"
    trace = run_trace(cell, params, x, h0=h0, c0=c0 if is_lstm else None, dtype=getattr(np, dtype))
    tol = TOL[dtype]

    def t(a: np.ndarray) -> Any:
        return torch.from_numpy(a).to(tdtype)

    with torch.no_grad():
        layer_in = t(x)
        for k in range(layers):  # layer k of the stack == a 1-layer module with its weights
            one = torch_module(torch, cell, layer_in.shape[-1], H, 1).to(tdtype)
            for name in one.state_dict():
                getattr(one, name).copy_(getattr(module, name.replace("_l0", f"_l{k}")))
            state = (t(h0[k : k + 1]), t(c0[k : k + 1])) if is_lstm else t(h0[k : k + 1])
            layer_in, _ = one(layer_in, state)
            np.testing.assert_allclose(trace.layers[k]["h"], layer_in.numpy(), rtol=0, atol=tol)
        out, final = module(t(x), (t(h0), t(c0)) if is_lstm else t(h0))
    np.testing.assert_allclose(trace.layers[-1]["h"], out.numpy(), rtol=0, atol=tol)
    h_n = final[0] if is_lstm else final
    np.testing.assert_allclose(trace.h_n, h_n.numpy(), rtol=0, atol=tol)
    if is_lstm:
        assert trace.c_n is not None
        np.testing.assert_allclose(trace.c_n, final[1].numpy(), rtol=0, atol=tol)


@pytest.mark.parametrize("cell", list(TORCH_MODULES))
def test_a_whole_torch_model_with_a_head_matches(torch: ModuleType, cell: str) -> None:
    torch.manual_seed(3)

    class Model(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(11, 4)
            self.rnn = torch_module(torch, cell, 4, 6, 2)
            self.head = torch.nn.Linear(6, 11)

        def forward(self, tokens: Any) -> Any:
            return self.head(self.rnn(self.embed(tokens))[0]).softmax(-1)

    model = Model().double()
    tokens = torch.tensor([[1, 5], [3, 3], [10, 0], [7, 2]])
    params, readout = from_torch(cell, {k: v.numpy() for k, v in model.state_dict().items()})
    with torch.no_grad():
        probs = model(tokens).numpy()
        x = model.embed(tokens).numpy()
    trace = run_trace(cell, params, x, readout=readout)
    assert trace.probs is not None
    np.testing.assert_allclose(trace.probs, probs, rtol=0, atol=1e-12)
