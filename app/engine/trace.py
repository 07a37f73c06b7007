"""run_trace: every traced quantity of every layer at every step, for any cell."""

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from app.engine.cell_common import LayerResult
from app.engine.cells_gru import gru_layer
from app.engine.cells_lstm import coupled_layer, lstm_layer, peephole_layer
from app.engine.cells_rnn import rnn_layer
from app.engine.checks import as_float_dtype, check_input, check_state, check_weights
from app.engine.clamps import DIRECTIONS, StepClamps, compile_clamps
from app.engine.errors import EngineError
from app.engine.kernel import check_kernel
from app.engine.params import direction_params, model_sizes, num_directions, proj_size
from app.engine.readout import apply_readout, check_readout
from app.engine.records import Clamp, Readout, Trace
from app.engine.spec import check_cell, has_cell_state, trace_fields


def run_layer(
    cell: str,
    params: Mapping[str, np.ndarray],
    layer: int,
    xin: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray | None,
    clamps: StepClamps | None,
    dtype: np.dtype[Any],
    kernel: str = "auto",
) -> LayerResult:
    """One layer of `cell` over xin (T, B, D_in) from h0 (and c0) of shape (B, H); kernel:
    see app/engine/kernel.py (only the standard LSTM has a compiled one)."""
    if cell == "gru":
        return gru_layer(params, layer, xin, h0, None, clamps, dtype)
    if cell in ("rnn_tanh", "rnn_relu"):
        return rnn_layer(params, layer, xin, h0, cell == "rnn_relu", clamps, dtype)
    assert c0 is not None
    if cell == "lstm":
        return lstm_layer(params, layer, xin, h0, c0, clamps, dtype, kernel)
    loop = {"lstm": lstm_layer, "lstm_peephole": peephole_layer, "lstm_coupled": coupled_layer}
    return loop[cell](params, layer, xin, h0, c0, clamps, dtype)


def check_fields(
    cell: str, fields: Collection[str] | None, projected: bool = False
) -> tuple[str, ...]:
    """The requested fields in the cell's order; unknown names are refused. projected: the
    model has a projection (proj_size), whose layers also trace h_unprojected."""
    known = trace_fields(cell, projected)
    if fields is None:
        return known
    unknown = sorted(set(fields) - set(known))
    if unknown:
        what = f"{cell} with proj_size" if projected else cell
        raise EngineError(
            f"unknown field {unknown[0]!r} for {what}; fields: {', '.join(known)}", "fields"
        )
    return tuple(f for f in known if f in fields)


def run_trace(
    cell: str,
    params: Mapping[str, np.ndarray],
    x: np.ndarray,
    *,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    clamps: Sequence[Clamp] = (),
    readout: Readout | None = None,
    dtype: Any = np.float64,
    fields: Collection[str] | None = None,
    kernel: str = "auto",
) -> Trace:
    """Run `cell` with PyTorch-layout `params` over x and keep every quantity of every step.

    x: (T, D) or (T, B, D). h0, c0: (L * dirs, H) or (L * dirs, B, H), zeros when None (c0
    only for the LSTM family; with a projection, torch's proj_size P, h0 and h_n have P
    units and every layer traces h_unprojected besides h); dirs is 2 for bidirectional
    params (torch's "_reverse" tensors), whose backward direction runs over the reversed
    sequence. clamps force gates to values (see Clamp); the rest of the trace follows.
    kernel: "auto", "numpy" or "numba" (app/engine/kernel.py); Trace.kernel says which loop
    ran.
    Returned arrays have the batch-ness of x and may be views into one buffer per layer.
    Raises ShapeError / LayoutError / EngineError on bad shapes, values, names or options.
    """
    check_cell(cell)
    check_kernel(kernel)
    float_dtype = as_float_dtype(dtype)
    input_size, hidden_size, num_layers = model_sizes(cell, params)
    D = num_directions(params)
    P = proj_size(params)
    out_size = P or hidden_size  # the units of h
    check_weights(params)
    keep = check_fields(cell, fields, P > 0)
    xs, batched = check_input(x, input_size, float_dtype)
    T, B, _ = xs.shape
    hs = check_state("h0", h0, num_layers * D, B, out_size, batched, float_dtype)
    cs: np.ndarray | None = None
    if has_cell_state(cell):
        cs = check_state("c0", c0, num_layers * D, B, hidden_size, batched, float_dtype)
    elif c0 is not None:
        raise EngineError(f"c0 was given but {cell} has no cell state; pass only h0", "c0")
    schedules = [
        compile_clamps(clamps, cell, num_layers, T, hidden_size, "clamps", D, direction)
        for direction in DIRECTIONS[:D]
    ]
    top = check_readout(readout, out_size * D, float_dtype) if readout is not None else None

    layers: list[dict[str, np.ndarray]] = []
    backward: list[dict[str, np.ndarray]] = []
    h_n = np.empty((num_layers * D, B, out_size), dtype=float_dtype)
    c_n = np.empty((num_layers * D, B, hidden_size), float_dtype) if cs is not None else None
    xin = xs
    used: set[str] = set()
    for k in range(num_layers):
        outs = []
        for d in range(D):
            j = k * D + d  # torch's row of h0 / h_n for layer k, direction d
            res = run_layer(
                cell, direction_params(params, k, d == 1), k, xin if d == 0 else xin[::-1],
                hs[j], None if cs is None else cs[j], schedules[d][k], float_dtype, kernel,
            )  # fmt: skip
            used.add(res.kernel)
            h_n[j] = res.h_n
            if c_n is not None and res.c_n is not None:
                c_n[j] = res.c_n
            if d == 0:
                layers.append(_kept(res.fields, keep, batched, flip=False))
                outs.append(res.h_seq)
            else:  # computed over the reversed sequence: flipped back into forward time
                backward.append(_kept(res.fields, keep, batched, flip=True))
                outs.append(res.h_seq[::-1])
        xin = outs[0] if D == 1 else np.concatenate(outs, axis=-1)  # (T, B, D*H or D*P)

    logits = probs = None
    if top is not None:
        logits, probs = apply_readout(top, xin if batched else xin[:, 0, :])
    return Trace(
        cell=cell,
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        layers=layers,
        h_n=h_n if batched else h_n[:, 0, :],
        c_n=None if c_n is None else (c_n if batched else c_n[:, 0, :]),
        logits=logits,
        probs=probs,
        backward=backward if D == 2 else None,
        kernel="+".join(sorted(used)),
        proj_size=P,
    )


def _kept(
    fields: Mapping[str, np.ndarray], keep: Sequence[str], batched: bool, flip: bool
) -> dict[str, np.ndarray]:
    """The kept fields, (T, B, H) or (T, H); flipped ones copied so they stay contiguous."""
    out = {}
    for f in keep:
        v = fields[f] if batched else fields[f][:, 0, :]
        out[f] = np.ascontiguousarray(v[::-1]) if flip else v
    return out
