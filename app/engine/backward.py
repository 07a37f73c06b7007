"""backward: BPTT for every cell, from a trace, with the gradient-flow trace the UI draws.

The forward pass is run_trace (every gate is kept), so the backward pass needs only the trace,
x, the initial states and the weights. Layers are walked top to bottom; each layer's loop
runs t = T-1 .. 0 (see backward_lstm / backward_gru / backward_rnn for the equations).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.backward_common import LayerGrads, norms
from app.engine.backward_gru import gru_backward
from app.engine.backward_losses import LOSS_KINDS, Loss, LossKind, loss_seeds
from app.engine.backward_lstm import lstm_backward
from app.engine.backward_rnn import rnn_backward
from app.engine.checks import as_float_dtype
from app.engine.clamps import StepClamps, compile_clamps
from app.engine.params import forward_only
from app.engine.records import Clamp, Readout, Trace
from app.engine.spec import has_cell_state
from app.engine.trace import run_trace

__all__ = ["LOSS_KINDS", "GradientFlow", "Gradients", "Loss", "LossKind", "backward"]


@dataclass
class GradientFlow:
    """How much gradient reaches each step, per layer (layer 0 = the bottom one).

    dh: (L, T, H), or (L, T, B, H) when x had a batch axis: the total dL/dh_t of every layer,
        through every path (the loss at t, the next step, the layer above); with a
        projection (proj_size P) h and so dh have P units.
    dc: the same for the cell state c_t (LSTM family), else None; it includes the path
        through h_t = o tanh(c_t) (and o's peephole), so dc[l, t] is dL/dc_t in full.
    dh_norm, dc_norm: (L, T) Euclidean norms of dh[l, t] and dc[l, t] (over units and rows).
    dx_norm: (T,) the norm of dL/dx_t.
    The UI's "does the gradient vanish" picture is dh_norm[layer] (and dc_norm) against t.
    """

    dh: np.ndarray
    dc: np.ndarray | None
    dh_norm: np.ndarray
    dc_norm: np.ndarray | None
    dx_norm: np.ndarray


@dataclass
class Gradients:
    """Everything backward computes.

    loss: the loss value. params: dL/dW for every tensor of params, same names and shapes.
    x: dL/dx, shaped like x. h0, c0: dL/dh0, dL/dc0, shaped (L, H) or (L, B, H) like the
    states (c0 None without a cell state). readout: dL/dweight (V, H) and dL/dbias (V,) when a
    readout was given. flow: the gradient-flow trace. trace: the forward trace it came from.
    """

    loss: float
    params: dict[str, np.ndarray]
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray | None
    readout: Readout | None
    flow: GradientFlow
    trace: Trace


def _layer_backward(
    cell: str,
    params: Mapping[str, np.ndarray],
    layer: int,
    fields: Mapping[str, np.ndarray],
    xin: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray | None,
    dh_out: np.ndarray,
    clamps: StepClamps | None,
) -> LayerGrads:
    if cell == "gru":
        return gru_backward(params, layer, fields, xin, h0, dh_out, clamps)
    if cell in ("rnn_tanh", "rnn_relu"):
        return rnn_backward(params, layer, fields, xin, h0, dh_out, cell == "rnn_relu")
    assert c0 is not None
    return lstm_backward(cell, params, layer, fields, xin, h0, c0, dh_out, clamps)


def _zero_layer(
    params: Mapping[str, np.ndarray],
    layer: int,
    xin: np.ndarray,
    B: int,
    H: int,
    has_c: bool,
    out: int,
) -> LayerGrads:
    """A layer no gradient reaches (above a unit loss's layer): everything is 0. out: the
    units of h (H, or proj_size)."""
    dtype = xin.dtype
    T = xin.shape[0]
    grads = {
        name: np.zeros(np.shape(value), dtype=dtype)
        for name, value in params.items()
        if name.endswith(f"_l{layer}")
    }
    zeros = np.zeros((T, B, H), dtype=dtype)
    dc0 = np.zeros((B, H), dtype=dtype) if has_c else None
    return LayerGrads(
        grads,
        np.zeros_like(xin),
        np.zeros((B, out), dtype=dtype),
        dc0,
        np.zeros((T, B, out), dtype=dtype),
        zeros if has_c else None,
    )


def _sum(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """a + b, where None stands for nothing (no gradient)."""
    if a is None or b is None:
        return b if a is None else a
    total: np.ndarray = a + b
    return total


def _batch(a: np.ndarray, axis: int, batched: bool) -> np.ndarray:
    """Insert a batch axis of 1 at `axis` when the caller gave none."""
    return a if batched else np.expand_dims(a, axis)


def backward(
    cell: str,
    params: Mapping[str, np.ndarray],
    x: np.ndarray,
    loss: Loss,
    *,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    readout: Readout | None = None,
    clamps: Sequence[Clamp] = (),
    dtype: Any = np.float64,
) -> Gradients:
    """The loss's value and its gradients w.r.t. every weight, x, h0, c0 and the readout.

    x: (T, D) or (T, B, D); h0, c0: (L, H) or (L, B, H), zeros when None. readout is needed
    by the losses on logits ("mse_readout", "xent"). clamps as in run_trace: a clamped gate is a
    constant, so no gradient flows into its pre-activation where it is clamped. The arithmetic
    is done in `dtype` (float64 for checks, float32 is about twice as fast for training).
    Raises ShapeError / LayoutError / EngineError on bad input, like run_trace.
    """
    forward_only(params, "backward (gradients)")
    trace = run_trace(cell, params, x, h0=h0, c0=c0, clamps=clamps, readout=readout, dtype=dtype)
    float_dtype = as_float_dtype(dtype)
    L, H = trace.num_layers, trace.hidden_size
    out = trace.proj_size or H  # the units of h
    xs = np.asarray(x, dtype=float_dtype)
    batched = xs.ndim == 3
    xs = _batch(xs, 1, batched)
    T, B, _ = xs.shape
    has_c = has_cell_state(cell)

    def state(value: np.ndarray | None, units: int) -> np.ndarray:  # (L, B, units), checked
        if value is None:
            return np.zeros((L, B, units), dtype=float_dtype)
        return _batch(np.asarray(value, dtype=float_dtype), 1, batched)

    hs, cs = state(h0, out), state(c0, H) if has_c else None
    layers = [{k: _batch(v, 1, batched) for k, v in fields.items()} for fields in trace.layers]
    logits = None if trace.logits is None else _batch(trace.logits, 1, batched)
    seeds = loss_seeds(loss, [fields["h"] for fields in layers], logits, batched)
    schedule = compile_clamps(clamps, cell, L, T, H)
    weights = {name: np.asarray(value, dtype=float_dtype) for name, value in params.items()}

    d_readout: Readout | None = None
    dh_top = seeds.dh[-1]
    if readout is not None:
        w_r = np.asarray(readout.weight, dtype=float_dtype)
        h_top = layers[-1]["h"].reshape(T * B, out)
        if seeds.dlogits is None:
            d_readout = Readout(np.zeros_like(w_r), np.zeros(w_r.shape[0], dtype=float_dtype))
        else:
            dl = seeds.dlogits.reshape(T * B, -1)
            d_readout = Readout(dl.T @ h_top, dl.sum(axis=0))  # dL/dW_r, dL/db_r
            from_readout = (dl @ w_r).reshape(T, B, out)  # dL/dh_top through the readout
            dh_top = from_readout if dh_top is None else dh_top + from_readout

    top_down: list[LayerGrads] = []
    dh_out: np.ndarray | None = dh_top  # what reaches layer k's h from outside its recurrence
    for k in reversed(range(L)):
        xin = xs if k == 0 else layers[k - 1]["h"]
        if dh_out is None:
            top_down.append(_zero_layer(weights, k, xin, B, H, has_c, out))
        else:
            c0_k = None if cs is None else cs[k]
            top_down.append(
                _layer_backward(cell, weights, k, layers[k], xin, hs[k], c0_k, dh_out, schedule[k])
            )
        if k > 0:  # the layer below: its own loss term plus what this layer passed to its input
            passed = None if dh_out is None else top_down[-1].dxin
            dh_out = _sum(seeds.dh[k - 1], passed)
    results = top_down[::-1]

    grads: dict[str, np.ndarray] = {}
    for res in results:
        grads.update(res.params)
    dx = results[0].dxin
    dh = np.stack([res.dh for res in results])  # (L, T, B, H)
    dc = np.stack([res.dc for res in results if res.dc is not None]) if has_c else None
    flow = GradientFlow(
        dh=dh if batched else dh[:, :, 0],
        dc=None if dc is None else (dc if batched else dc[:, :, 0]),
        dh_norm=norms(dh, (2, 3)),
        dc_norm=None if dc is None else norms(dc, (2, 3)),
        dx_norm=norms(dx, (1, 2)),
    )
    dh0 = np.stack([res.dh0 for res in results])
    dc0 = np.stack([res.dc0 for res in results if res.dc0 is not None]) if has_c else None
    return Gradients(
        loss=seeds.value,
        params={name: grads[name] for name in params},
        x=dx if batched else dx[:, 0],
        h0=dh0 if batched else dh0[:, 0],
        c0=None if dc0 is None else (dc0 if batched else dc0[:, 0]),
        readout=d_readout,
        flow=flow,
        trace=trace,
    )
