"""BPTT gradients against torch autograd (float64) for lstm, gru and both simple RNNs."""

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from app.engine import Readout, from_torch
from app.engine.backward import Gradients, Loss, backward
from tests.engine.conftest import TORCH_MODULES, torch_module

pytestmark = pytest.mark.torch

D, H, T, V = 4, 5, 7, 6
ATOL = 1e-10


def _case(torch: ModuleType, cell: str, layers: int, batch: int | None, kind: str) -> None:
    torch.manual_seed(layers * 7 + (batch or 0))
    module = torch_module(torch, cell, D, H, layers).double()
    head = torch.nn.Linear(H, V).double()
    params, _ = from_torch(cell, {k: v.detach().numpy() for k, v in module.state_dict().items()})
    readout = Readout(head.weight.detach().numpy().copy(), head.bias.detach().numpy().copy())
    rng = np.random.default_rng(layers + 10 * (batch or 0))
    rows = () if batch is None else (batch,)
    x = rng.standard_normal((T, *rows, D))
    h0 = 0.5 * rng.standard_normal((layers, *rows, H))
    c0 = 0.5 * rng.standard_normal((layers, *rows, H))
    is_lstm = cell == "lstm"

    if kind == "unit":
        loss = Loss("unit", step=4, unit=2, layer=layers - 1)
    elif kind == "mse_h":
        loss = Loss("mse_h", targets=rng.standard_normal((T, *rows, H)))
    elif kind == "mse_readout":
        loss = Loss("mse_readout", targets=rng.standard_normal((T, *rows, V)))
    else:
        targets = rng.integers(0, V, size=(T, *rows))
        targets[2] = -100  # no target at step 2
        loss = Loss("xent", targets=targets)
    grads = backward(cell, params, x, loss, h0=h0, c0=c0 if is_lstm else None, readout=readout)

    tx, th0, tc0 = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    out, _ = module(tx, (th0, tc0) if is_lstm else th0)
    logits = head(out)
    if kind == "unit":
        t_loss = out[4, ..., 2].sum()
    elif kind == "mse_h":
        t_loss = torch.nn.functional.mse_loss(out, torch.tensor(loss.targets))
    elif kind == "mse_readout":
        t_loss = torch.nn.functional.mse_loss(logits, torch.tensor(loss.targets))
    else:
        t_loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, V), torch.tensor(loss.targets).reshape(-1), ignore_index=-100
        )
    t_loss.backward()
    _compare(grads, float(t_loss.detach()), module, head, tx, th0, tc0 if is_lstm else None, kind)


def _compare(
    grads: Gradients, t_loss: float, module: Any, head: Any, tx: Any, th0: Any, tc0: Any, kind: str
) -> None:
    assert grads.loss == pytest.approx(t_loss, rel=1e-12, abs=1e-14)
    for name, param in module.named_parameters():
        np.testing.assert_allclose(grads.params[name], param.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(grads.x, tx.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(grads.h0, th0.grad.numpy(), rtol=0, atol=ATOL)
    if tc0 is not None:
        assert grads.c0 is not None
        np.testing.assert_allclose(grads.c0, tc0.grad.numpy(), rtol=0, atol=ATOL)
    assert grads.readout is not None
    if kind in ("mse_readout", "xent"):
        np.testing.assert_allclose(grads.readout.weight, head.weight.grad.numpy(), atol=ATOL)
        np.testing.assert_allclose(grads.readout.bias, head.bias.grad.numpy(), atol=ATOL)
    else:  # the readout plays no part in a loss on h
        assert head.weight.grad is None
        np.testing.assert_array_equal(grads.readout.weight, 0.0)


@pytest.mark.parametrize("kind", ["unit", "mse_h", "mse_readout", "xent"])
@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", list(TORCH_MODULES))
def test_gradients_match_torch_autograd(
    torch: ModuleType, cell: str, layers: int, batch: int | None, kind: str
) -> None:
    _case(torch, cell, layers, batch, kind)


def test_cross_entropy_with_a_mask_matches_torch_ignoring_those_steps(torch: ModuleType) -> None:
    torch.manual_seed(3)
    module = torch.nn.LSTM(D, H).double()
    head = torch.nn.Linear(H, V).double()
    params, _ = from_torch("lstm", {k: v.detach().numpy() for k, v in module.state_dict().items()})
    readout = Readout(head.weight.detach().numpy(), head.bias.detach().numpy())
    rng = np.random.default_rng(5)
    x = rng.standard_normal((T, 2, D))
    targets = rng.integers(0, V, size=(T, 2))
    mask = np.ones((T, 2), dtype=bool)
    mask[:3, 0] = False  # row 0 has no targets for its first three steps
    grads = backward("lstm", params, x, Loss("xent", targets=targets, mask=mask), readout=readout)

    tx = torch.tensor(x, requires_grad=True)
    out, _ = module(tx)
    masked = np.where(mask, targets, -100)
    t_loss = torch.nn.functional.cross_entropy(
        head(out).reshape(-1, V), torch.tensor(masked).reshape(-1), ignore_index=-100
    )
    t_loss.backward()
    assert grads.loss == pytest.approx(float(t_loss.detach()), rel=1e-12)
    np.testing.assert_allclose(grads.x, tx.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(grads.x[:3, 0] != 0, True)  # still reached from later steps
    for name, param in module.named_parameters():
        np.testing.assert_allclose(grads.params[name], param.grad.numpy(), rtol=0, atol=ATOL)
