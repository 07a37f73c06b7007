"""BPTT through one simple (Elman) RNN layer, from its trace.

Forward: pre = W_ih x + b_ih + W_hh h_prev + b_hh,  h = tanh(pre) or relu(pre).
Backward at step t, running t = T-1 .. 0:
    dh = dh_out[t] + dh_next           total dL/dh_t
    da = dh * phi'(pre)                phi' = 1 - h^2 (tanh) or [pre > 0] (relu)
    dh_next = da @ W_hh
Each step multiplies by W_hh^T diag(phi'): with small weights or saturated units the
gradient shrinks geometrically going back in time (the vanishing gradient).
"""

from collections.abc import Mapping

import numpy as np

from app.engine.backward_common import LayerGrads, input_and_weight_grads, one_row, weight


def rnn_backward(
    params: Mapping[str, np.ndarray],
    layer: int,
    fields: Mapping[str, np.ndarray],
    xin: np.ndarray,
    h0: np.ndarray,
    dh_out: np.ndarray,
    relu: bool,
) -> LayerGrads:
    """Gradients of one rnn_tanh / rnn_relu layer. Shapes as lstm_backward's (no c)."""
    T, B, H = dh_out.shape
    dtype = dh_out.dtype
    pre, h = fields["pre"], fields["h"]
    k = (pre > 0).astype(dtype) if relu else 1.0 - h * h  # phi'(pre)
    w_hh = weight(params, f"weight_hh_l{layer}", dtype)
    dA = np.empty((T, B, H), dtype=dtype)
    DH = np.empty((T, B, H), dtype=dtype)
    dh_next = np.zeros((B, H), dtype=dtype)
    arrays = (dh_out, DH, dA, k)
    dh_n = dh_next[0] if B == 1 else dh_next
    add, mul, dot = np.add, np.multiply, np.dot
    steps = zip(*(a[::-1] for a in (one_row(*arrays) if B == 1 else arrays)), strict=True)
    for d_out, dh, da, k_t in steps:
        add(d_out, dh_n, dh)  # dh = dL/dh_t
        mul(dh, k_t, da)  # da = dL/dpre_t
        dot(da, w_hh, dh_n)  # dL/dh_{t-1}
    grads, dxin = input_and_weight_grads(params, layer, dA, dA, xin, h0, h)
    return LayerGrads(grads, dxin, dh_next, None, DH, None)
