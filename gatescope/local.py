"""gatescope.trace: a live model and its input -> a Trace, computed here by the engine."""

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from gatescope.adapters import Found, ModelError, as_array, framework, from_onnx
from gatescope.result import Trace, from_engine


def _find(model: Any, x: np.ndarray, ids: bool) -> Found:
    kind = framework(model)
    if kind == "torch":
        from gatescope.adapters import from_torch_module

        return from_torch_module(model, ids)
    if kind == "keras":
        from gatescope.adapters import from_keras

        width = None if ids or x.ndim == 0 else int(x.shape[-1])
        return from_keras(model, width, ids)
    if kind == "onnx":
        return from_onnx(model)
    raise ModelError(
        f"gatescope.trace takes a torch.nn.Module, a Keras 3 layer or model, or an onnx "
        f"ModelProto; got {type(model).__module__}.{type(model).__name__}. For weights in a "
        "file or a stored model use gatescope.Client(url).trace"
    )


def _time_major(x: np.ndarray, found: Found, ids: bool) -> np.ndarray:
    batched = x.ndim == (2 if ids else 3)
    return np.swapaxes(x, 0, 1) if batched and found.batch_first else x


def trace(
    model: Any,
    x: Any,
    *,
    tokens: Sequence[str] | None = None,
    h0: Any = None,
    c0: Any = None,
    fields: Collection[str] | None = None,
    dtype: Any = np.float64,
    title: str | None = None,
) -> Trace:
    """Every gate and state of `model` over `x`, as NumPy arrays (float64 by default).

    model: a torch nn.LSTM / GRU / RNN or an nn.Module holding one (an embedding before it and
    a Linear after it are read as the server reads an uploaded state_dict); a Keras 3
    recurrent layer or model; or an ONNX ModelProto with LSTM/GRU/RNN ops.
    x: what the model takes: floats (steps, D), or batched as the model's framework batches
    (torch: (steps, batch, D), or (batch, steps, D) with batch_first; Keras: (batch, steps,
    D); ONNX: (steps, batch, D)); or integer token ids (steps,) / batched for a model with an
    embedding. Torch tensors are accepted. Batched traces are (steps, batch, hidden).
    tokens: labels for the steps (the ids as text when not given).
    """
    xs = as_array(x)
    ids = xs.dtype.kind in "iu"
    found = _find(model, xs, ids)
    xs = _time_major(xs, found, ids)
    inputs = None
    labels = None if tokens is None else [str(t) for t in tokens]
    if ids:
        if found.vocab is None or found.table is None:
            raise ModelError("token ids need a model with an embedding")
        if xs.size and (xs.min() < 0 or xs.max() >= found.vocab):
            raise ModelError(f"token ids must be in [0, {found.vocab}); got {xs.min()}..{xs.max()}")
        inputs = found.table[xs]
        if labels is None and xs.ndim == 1:
            labels = [str(int(i)) for i in xs]
        xs = np.eye(found.vocab)[xs]
    else:
        inputs = np.asarray(xs, dtype=np.float64)
    from app.engine import run_trace

    h = None if h0 is None else as_array(h0)
    c = None if c0 is None else as_array(c0)
    params, readout = found.converted.params, found.converted.readout
    result = run_trace(found.cell, params, xs, h0=h, c0=c, readout=readout, dtype=dtype,
                       fields=fields)  # fmt: skip
    out = from_engine(result, inputs, labels)
    out.title = title
    return out
