"""Simple (Elman) RNN, PyTorch's nn.RNN:

    pre = W_ih x + b_ih + W_hh h_prev + b_hh           pre-activation
    h = tanh(pre)   or   h = relu(pre) = max(pre, 0)   hidden state

Storage: R (T, B, 2H), row t = [pre, h] of step t; traced fields are views into R.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.cell_common import LayerResult, aligned_empty, project_inputs, stacked_weights
from app.engine.clamps import StepClamps
from app.engine.errors import EngineError


def rnn_layer(
    params: Mapping[str, np.ndarray],
    layer: int,
    xin: np.ndarray,
    h0: np.ndarray,
    relu: bool,
    clamps: StepClamps | None,
    dtype: np.dtype[Any],
) -> LayerResult:
    """Elman RNN over xin (T, B, D) from h0 (B, H); relu selects rnn_relu over rnn_tanh."""
    del clamps  # no gates to clamp (compile_clamps refuses any)
    T, B, _ = xin.shape
    H = h0.shape[1]
    w_ih_t, w_hh_t, bias = stacked_weights(params, layer, H, (0,), (1.0,), dtype)
    R = aligned_empty((T, B, 2 * H), dtype)
    Pv, Hv = R[:, :, :H], R[:, :, H:]
    project_inputs(xin, w_ih_t, bias, R)
    rec = aligned_empty((B, H), dtype)  # W_hh h_prev
    h = h0
    zero = np.asarray(0.0, dtype=dtype)
    # an exploding relu RNN overflows: checked and reported below, so no warning here
    with np.errstate(over="ignore", invalid="ignore"):
        for pre, h_t in zip(Pv, Hv, strict=True):
            np.dot(h, w_hh_t, rec)
            np.add(pre, rec, pre)  # pre
            if relu:
                np.maximum(pre, zero, out=h_t)  # h = relu(pre)
            else:
                np.tanh(pre, h_t)  # h = tanh(pre)
            h = h_t
    if relu and not np.isfinite(Hv).all():
        t_bad = int(np.argmax(~np.isfinite(Hv).reshape(T, -1).all(axis=1)))
        raise EngineError(
            f"rnn_relu layer {layer}: h overflowed at step {t_bad} (relu is unbounded); "
            "scale the weights or inputs down"
        )
    return LayerResult({"pre": Pv, "h": Hv}, Hv, Hv[T - 1], None)
