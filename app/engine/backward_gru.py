"""BPTT through one GRU layer, from its trace.

Forward (PyTorch order r, z, n), hn = W_hn h_prev + b_hn:
    n = tanh(W_in x + b_in + r * hn),    h = (1 - z) * n + z * h_prev
Backward at step t, running t = T-1 .. 0:
    dh = dh_out[t] + dh_next                          total dL/dh_t
    da_n = dh * (1 - z) * (1 - n^2)                   dL/d(pre-activation of n)
    da_z = dh * (h_prev - n) * z (1 - z)
    da_r = da_n * hn * r (1 - r)
    dh_next = dh * z + [da_r, da_z, da_n * r] @ W_hh
The input side sees [da_r, da_z, da_n], the recurrent side [da_r, da_z, da_n * r] (r scales
the whole of W_hn h + b_hn), so the two sides get separate weight and bias gradients.
hn is not traced; it is recomputed for all steps in one GEMM. A clamped gate is a constant.
"""

from collections.abc import Mapping

import numpy as np

from app.engine.backward_common import (
    LayerGrads,
    clamp_masks,
    input_and_weight_grads,
    shifted,
    sigmoid_grad,
    weight,
    zero_where,
)
from app.engine.clamps import StepClamps


def gru_backward(
    params: Mapping[str, np.ndarray],
    layer: int,
    fields: Mapping[str, np.ndarray],
    xin: np.ndarray,
    h0: np.ndarray,
    dh_out: np.ndarray,
    clamps: StepClamps | None,
) -> LayerGrads:
    """Gradients of one GRU layer. Shapes as lstm_backward's (no c0, no dc)."""
    T, B, H = dh_out.shape
    dtype = dh_out.dtype
    masks = clamp_masks(clamps, T, H)
    r, z, n, h = (fields[k] for k in ("r", "z", "n", "h"))
    h_prev = shifted(h0, h)  # h_{t-1}
    w_hh = weight(params, f"weight_hh_l{layer}", dtype)
    b_hn = np.asarray(params[f"bias_hh_l{layer}"], dtype=dtype)[2 * H :]
    hn = h_prev @ w_hh[2 * H :].T + b_hn  # W_hn h_prev + b_hn
    K = np.empty((T, B, 2, H), dtype=dtype)  # dh -> [da_z, da_n]
    np.multiply(h_prev - n, sigmoid_grad(z), out=K[:, :, 0])
    np.multiply(1.0 - z, 1.0 - n * n, out=K[:, :, 1])
    zero_where(K[:, :, 0], masks.get("z"))
    zero_where(K[:, :, 1], masks.get("n"))
    k_r = hn * sigmoid_grad(r)  # da_n -> da_r
    zero_where(k_r, masks.get("r"))
    scale = np.ones((T, B, 3, H), dtype=dtype)  # [1, 1, r]: input side -> recurrent side
    scale[:, :, 2] = r
    z_c = np.ascontiguousarray(z)

    dAx = np.empty((T, B, 3 * H), dtype=dtype)  # [da_r, da_z, da_n]
    dAh = np.empty((T, B, 3 * H), dtype=dtype)  # [da_r, da_z, da_n * r]
    DH = np.empty((T, B, H), dtype=dtype)
    dh_next = np.zeros((B, H), dtype=dtype)
    tmp = np.empty((B, H), dtype=dtype)
    dAx4 = dAx.reshape(T, B, 3, H)
    add, mul, dot = np.add, np.multiply, np.dot
    steps = zip(
        dh_out[::-1],
        DH[::-1],
        dAx4[::-1],
        dAx[::-1],
        dAh[::-1],
        K[::-1],
        k_r[::-1],
        scale.reshape(T, B, 3 * H)[::-1],
        z_c[::-1],
        strict=True,
    )
    for d_out, dh, ax4, ax, ah, k, kr, sc, z_t in steps:
        add(d_out, dh_next, dh)  # dh = dL/dh_t
        mul(k, dh[:, None, :], ax4[:, 1:])  # da_z, da_n
        mul(ax4[:, 2], kr, ax4[:, 0])  # da_r
        mul(ax, sc, ah)  # recurrent side
        dot(ah, w_hh, dh_next)
        add(dh_next, mul(dh, z_t, tmp), dh_next)  # dL/dh_{t-1}
    grads, dxin = input_and_weight_grads(params, layer, dAx, dAh, xin, h_prev)
    return LayerGrads(grads, dxin, dh_next, None, DH, None)
