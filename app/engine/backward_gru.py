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
the whole of W_hn h + b_hn), so the two sides get separate weight and bias gradients. One row
per step holds [da_n * r, da_r, da_z, da_n]: its first 3H are the recurrent side (rows n, r, z
of W_hh), its last 3H the input side in PyTorch order. hn is not traced; it is recomputed for
all steps in one GEMM. A clamped gate is a constant.
"""

from collections.abc import Mapping

import numpy as np

from app.engine.backward_common import (
    LayerGrads,
    clamp_masks,
    input_and_weight_grads,
    one_row,
    sigmoid_grad,
    weight,
    zero_where,
)
from app.engine.cell_common import aligned_empty
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
    w_hh = weight(params, f"weight_hh_l{layer}", dtype)
    w_nrz = aligned_empty((3 * H, H), dtype)  # W_hh rows n, r, z
    w_nrz[:H], w_nrz[H:] = w_hh[2 * H :], w_hh[: 2 * H]
    w_hn_t = w_hh[2 * H :].T
    hn = np.empty((T, B, H), dtype=dtype)  # W_hn h_prev + b_hn
    np.matmul(h[:-1], w_hn_t, out=hn[1:])
    np.matmul(h0, w_hn_t, out=hn[0])
    hn += np.asarray(params[f"bias_hh_l{layer}"], dtype=dtype)[2 * H :]
    K = np.empty((T, B, 2, H), dtype=dtype)  # dh -> [da_z, da_n]
    k_z, k_n = K[:, :, 0], K[:, :, 1]
    np.negative(n, out=k_z)
    k_z[0] += h0
    k_z[1:] += h[:-1]  # h_prev - n
    np.multiply(k_z, sigmoid_grad(z, k_n), out=k_z)  # (h_prev - n) z (1 - z)
    np.multiply(n, n, out=k_n)
    np.subtract(1.0, k_n, out=k_n)
    np.multiply(k_n, 1.0 - z, out=k_n)  # (1 - z)(1 - n^2)
    zero_where(k_z, masks.get("z"))
    zero_where(k_n, masks.get("n"))
    k_r = np.multiply(hn, sigmoid_grad(r, np.empty_like(hn)))  # da_n -> da_r: hn r (1 - r)
    zero_where(k_r, masks.get("r"))

    dA = aligned_empty((T, B, 4 * H), dtype)  # [da_n * r, da_r, da_z, da_n]
    DH = np.empty((T, B, H), dtype=dtype)
    dh_next = np.zeros((B, H), dtype=dtype)
    tmp = np.empty((B, H), dtype=dtype)
    dA4 = dA.reshape(T, B, 4, H)
    arrays: tuple[np.ndarray, ...] = (
        dh_out,
        DH,
        DH[:, :, None],
        dA[:, :, : 3 * H],
        dA4[:, :, 2:],
        dA4[:, :, 3],
    )
    arrays += (dA4[:, :, 1], dA4[:, :, 0], K, k_r, r, z)
    dh_n, tmp_ = (dh_next[0], tmp[0]) if B == 1 else (dh_next, tmp)
    add, mul, dot = np.add, np.multiply, np.dot
    steps = zip(*(a[::-1] for a in (one_row(*arrays) if B == 1 else arrays)), strict=True)
    for d_out, dh, dh1, a_rec, a_zn, da_n, da_r, da_nr, k, kr, r_t, z_t in steps:
        add(d_out, dh_n, dh)  # dh = dL/dh_t
        mul(k, dh1, a_zn)  # da_z, da_n
        mul(da_n, kr, da_r)  # da_r
        mul(da_n, r_t, da_nr)  # da_n * r: the recurrent side of n
        dot(a_rec, w_nrz, dh_n)
        add(dh_n, mul(dh, z_t, tmp_), dh_n)  # dL/dh_{t-1}
    grads, dxin = input_and_weight_grads(params, layer, dA[:, :, H:], dA[:, :, : 3 * H], xin, h0, h)
    for name in (f"weight_hh_l{layer}", f"bias_hh_l{layer}"):  # rows n, r, z -> r, z, n
        grads[name] = np.concatenate([grads[name][H:], grads[name][:H]])
    return LayerGrads(grads, dxin, dh_next, None, DH, None)
