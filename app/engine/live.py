"""Live stepping (for the WebSocket): one input vector at a time, the caller keeps the State."""

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.checks import as_float_dtype, check_state
from app.engine.errors import EngineError, ShapeError
from app.engine.params import forward_only, model_sizes, output_size
from app.engine.records import Readout, State
from app.engine.spec import check_cell, has_cell_state
from app.engine.trace import run_trace


def initial_state(
    cell: str,
    params: Mapping[str, np.ndarray],
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    dtype: Any = np.float64,
    batch: int | None = None,
) -> State:
    """The state before the first step: h0/c0 (L, H) or (L, B, H), zeros when None (with a
    projection, torch's proj_size P, h has P units and c H).

    With zeros, `batch` chooses (L, batch, H) over (L, H); given states set it themselves.
    """
    check_cell(cell)
    forward_only(params, "live stepping")
    float_dtype = as_float_dtype(dtype)
    _, hidden_size, num_layers = model_sizes(cell, params)
    given = h0 if h0 is not None else c0
    if batch is not None:
        batched, rows = True, batch
    elif given is not None and np.ndim(given) == 3:
        batched, rows = True, int(np.shape(given)[1])
    else:
        batched, rows = False, 1
    if rows < 1:
        raise ShapeError(f"batch is {rows}, must be at least 1")
    h_units = output_size(params, hidden_size)
    h = check_state("h0", h0, num_layers, rows, h_units, batched, float_dtype)
    c = None
    if has_cell_state(cell):
        c = check_state("c0", c0, num_layers, rows, hidden_size, batched, float_dtype)
    elif c0 is not None:
        raise EngineError(f"c0 was given but {cell} has no cell state; pass only h0", "c0")
    if not batched:
        return State(h[:, 0, :].copy(), None if c is None else c[:, 0, :].copy())
    return State(h.copy(), None if c is None else c.copy())


def step(
    cell: str,
    params: Mapping[str, np.ndarray],
    x_t: np.ndarray,
    state: State,
    *,
    readout: Readout | None = None,
    dtype: Any = np.float64,
) -> tuple[State, list[dict[str, np.ndarray]], np.ndarray | None]:
    """Advance one step: x_t (D,) or (B, D) with state h (L, H) or (L, B, H).

    Returns the new state, each layer's fields at this step ((H,) or (B, H)) and the readout's
    probabilities ((V,) or (B, V)) or None. Equal to the same step of run_trace.
    """
    forward_only(params, "live stepping")
    x = np.asarray(x_t)
    if x.ndim != np.ndim(state.h) - 1:
        raise ShapeError(
            f"x_t has shape {x.shape} but state.h has shape {np.shape(state.h)}; "
            "give x_t as (input_size,) with an (L, H) state or (batch, input_size) with (L, B, H)"
        )
    trace = run_trace(cell, params, x[None], h0=state.h, c0=state.c, readout=readout, dtype=dtype)
    fields = [{f: v[0].copy() for f, v in layer.items()} for layer in trace.layers]
    new = State(trace.h_n.copy(), None if trace.c_n is None else trace.c_n.copy())
    probs = None if trace.probs is None else trace.probs[0].copy()
    return new, fields, probs
