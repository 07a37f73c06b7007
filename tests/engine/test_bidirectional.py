"""Bidirectional layers against PyTorch: both directions' gates and states at every step."""

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from app.engine import Clamp, from_torch, run_trace
from app.engine.errors import EngineError, LayoutError
from app.engine.layouts_torch import convert_torch
from app.engine.params import init_params
from tests.engine.conftest import TORCH_MODULES

TOL = {"float64": 1e-10, "float32": 1e-5}


def _bi(torch: ModuleType, cell: str, d: int, h: int, layers: int) -> Any:
    name, kwargs = TORCH_MODULES[cell]
    return getattr(torch.nn, name)(d, h, num_layers=layers, bidirectional=True, **kwargs)


def _gates(torch: ModuleType, cell: str, w: dict[str, Any], x: Any, h0: Any, c0: Any) -> dict:
    """One direction of one layer stepped with torch ops: every gate at every step, (T, B, H).

    x: (T, B, D) in the order this direction reads it."""
    F = torch.nn.functional
    out: dict[str, list[Any]] = {}
    h, c = h0, c0
    for x_t in x:
        gi = F.linear(x_t, w["weight_ih"], w["bias_ih"])
        gh = F.linear(h, w["weight_hh"], w["bias_hh"])
        if cell == "lstm":
            i, f, g, o = (gi + gh).chunk(4, -1)
            i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            step = {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}
        elif cell == "gru":
            ir, iz, in_ = gi.chunk(3, -1)
            hr, hz, hn = gh.chunk(3, -1)
            r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
            n = (in_ + r * hn).tanh()
            h = (1 - z) * n + z * h
            step = {"r": r, "z": z, "n": n, "h": h}
        else:
            pre = gi + gh
            h = pre.tanh() if cell == "rnn_tanh" else pre.relu()
            step = {"pre": pre, "h": h}
        for k, v in step.items():
            out.setdefault(k, []).append(v)
    return {k: torch.stack(v) for k, v in out.items()}


@pytest.mark.torch
@pytest.mark.parametrize("cell", list(TORCH_MODULES))
@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bidirectional_two_layers_match_torch_in_both_directions(
    torch: ModuleType, cell: str, batch: int | None, dtype: str
) -> None:
    torch.manual_seed(7)
    tdtype, tol = getattr(torch, dtype), TOL[dtype]
    D, H, T, L = 4, 5, 8, 2
    module = _bi(torch, cell, D, H, L).to(tdtype)
    sd = {k: v.detach() for k, v in module.state_dict().items()}
    params, _ = from_torch(cell, {k: v.numpy() for k, v in sd.items()})
    rng = np.random.default_rng(2)
    x = rng.standard_normal((T, D) if batch is None else (T, batch, D))
    shape = (2 * L, H) if batch is None else (2 * L, batch, H)
    h0, c0 = 0.5 * rng.standard_normal(shape), 0.5 * rng.standard_normal(shape)
    lstm = cell == "lstm"
    trace = run_trace(cell, params, x, h0=h0, c0=c0 if lstm else None, dtype=getattr(np, dtype))
    assert trace.num_directions == 2 and trace.backward is not None

    def t(a: np.ndarray) -> Any:
        a3 = a if batch is not None else a[:, None, :]
        return torch.from_numpy(np.ascontiguousarray(a3)).to(tdtype)

    def mine(fields: dict[str, np.ndarray], name: str) -> np.ndarray:
        v = fields[name]
        return v if batch is not None else v[:, None, :]

    with torch.no_grad():
        layer_in = t(x)
        for k in range(L):
            outs = []
            for d, sfx in enumerate(("", "_reverse")):
                w = {
                    n: sd[f"{n}_l{k}{sfx}"]
                    for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                }
                j = 2 * k + d
                hh, cc = t(h0[j : j + 1])[0], t(c0[j : j + 1])[0]  # (B, H)
                seq = layer_in if d == 0 else layer_in.flip(0)
                got = _gates(torch, cell, w, seq, hh, cc)
                if d == 1:  # the backward direction is stored in forward time
                    got = {n: v.flip(0) for n, v in got.items()}
                fields = trace.layers[k] if d == 0 else trace.backward[k]
                for name, ref in got.items():
                    np.testing.assert_allclose(
                        mine(fields, name),
                        ref.numpy(),
                        rtol=0,
                        atol=tol,
                        err_msg=f"{k}{sfx} {name}",
                    )
                outs.append(got["h"])
            layer_in = torch.cat(outs, -1)
        hx = (torch.from_numpy(h0).to(tdtype), torch.from_numpy(c0).to(tdtype))
        out, final = module(torch.from_numpy(x).to(tdtype), hx if lstm else hx[0])
    top = np.concatenate([trace.layers[-1]["h"], trace.backward[-1]["h"]], axis=-1)
    np.testing.assert_allclose(top, out.numpy(), rtol=0, atol=tol)
    np.testing.assert_allclose(trace.h_n, (final[0] if lstm else final).numpy(), rtol=0, atol=tol)
    if lstm:
        assert trace.c_n is not None
        np.testing.assert_allclose(trace.c_n, final[1].numpy(), rtol=0, atol=tol)


@pytest.mark.torch
def test_bidirectional_tagger_with_embedding_and_head_matches_torch(torch: ModuleType) -> None:
    torch.manual_seed(11)

    class Tagger(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(13, 6)
            self.lstm = torch.nn.LSTM(6, 5, num_layers=2, bidirectional=True)
            self.head = torch.nn.Linear(10, 13)

        def forward(self, tokens: Any) -> Any:
            return self.head(self.lstm(self.embed(tokens))[0]).softmax(-1)

    model = Tagger().double()
    tokens = torch.tensor([1, 5, 3, 3, 12, 0, 7])
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    with torch.no_grad():
        probs = model(tokens).numpy()
    one_hot = np.eye(13)[tokens.numpy()]
    conv = convert_torch("lstm", sd, vocab_size=13)
    assert conv.folded == "embed.weight" and conv.readout is not None
    trace = run_trace("lstm", conv.params, one_hot, readout=conv.readout)
    assert trace.probs is not None
    np.testing.assert_allclose(trace.probs, probs, rtol=0, atol=1e-12)


def test_clamp_on_the_backward_direction_acts_there_only() -> None:
    params = init_params("lstm", 3, 4, num_layers=1, seed=1, num_directions=2)
    x = np.random.default_rng(0).standard_normal((6, 3))
    free = run_trace("lstm", params, x)
    held = run_trace("lstm", params, x, clamps=[Clamp("f", 1.0, steps=[2], direction="backward")])
    assert free.backward is not None and held.backward is not None
    np.testing.assert_array_equal(held.backward[0]["f"][2], 1.0)
    np.testing.assert_array_equal(held.layers[0]["f"], free.layers[0]["f"])  # forward untouched
    # the backward direction reads steps 5, 4, 3 before step 2: those are unchanged, 1 and 0 not
    np.testing.assert_array_equal(held.backward[0]["c"][3:], free.backward[0]["c"][3:])
    assert not np.allclose(held.backward[0]["c"][:2], free.backward[0]["c"][:2])


def test_backward_clamp_on_one_directional_model_is_refused() -> None:
    params = init_params("gru", 2, 3, seed=0)
    with pytest.raises(EngineError, match=r"direction 'backward'.*forward only"):
        run_trace("gru", params, np.zeros((2, 2)), clamps=[Clamp("z", 0.5, direction="backward")])


def test_bidirectional_h0_needs_a_row_per_layer_and_direction() -> None:
    params = init_params("rnn_tanh", 2, 3, num_layers=2, seed=0, num_directions=2)
    with pytest.raises(EngineError, match=r"h0 has shape \(2, 3\), expected \(4, 3\)"):
        run_trace("rnn_tanh", params, np.zeros((5, 2)), h0=np.zeros((2, 3)))


def test_half_a_bidirectional_layer_is_refused_by_name() -> None:
    params = init_params("lstm", 2, 3, num_layers=1, seed=0, num_directions=2)
    del params["bias_hh_l0_reverse"]
    with pytest.raises(LayoutError, match="missing tensor bias_hh_l0_reverse"):
        run_trace("lstm", params, np.zeros((2, 2)))
