"""GRU, PyTorch equations (gate order r, z, n):

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)         reset gate
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)         update gate
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))      candidate state
    h = (1 - z) * n + z * h_prev  = (h_prev - n) * z + n

Storage: R (T, B, 4H), row t = [r, z, n, h] of step t; traced fields are views into R.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.cell_common import LayerResult, apply_clamps, project_inputs
from app.engine.clamps import StepClamps


def _weights(
    params: Mapping[str, np.ndarray], layer: int, H: int, dtype: np.dtype[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """W_ih^T (D, 3H), W_hh^T (H, 3H) with r, z rows halved; input bias; b_hn (H,)."""
    half = np.repeat([0.5, 0.5, 1.0], H)  # folds sigmoid(z) = 0.5 tanh(0.5 z) + 0.5
    w_ih = np.asarray(params[f"weight_ih_l{layer}"], dtype=np.float64) * half[:, None]
    w_hh = np.asarray(params[f"weight_hh_l{layer}"], dtype=np.float64) * half[:, None]
    b_ih = np.asarray(params[f"bias_ih_l{layer}"], dtype=np.float64)
    b_hh = np.asarray(params[f"bias_hh_l{layer}"], dtype=np.float64)
    bias = b_ih.copy()
    bias[: 2 * H] += b_hh[: 2 * H]  # b_hr, b_hz join the input projection; b_hn stays inside r*()
    return (
        np.ascontiguousarray(w_ih.T, dtype=dtype),
        np.ascontiguousarray(w_hh.T, dtype=dtype),
        (bias * half).astype(dtype),
        b_hh[2 * H :].astype(dtype),
    )


def gru_layer(
    params: Mapping[str, np.ndarray],
    layer: int,
    xin: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray | None,
    clamps: StepClamps | None,
    dtype: np.dtype[Any],
) -> LayerResult:
    """GRU over xin (T, B, D) from h0 (B, H). c0 is ignored (no cell state)."""
    T, B, _ = xin.shape
    H = h0.shape[1]
    w_ih_t, w_hh_t, bias, b_hn = _weights(params, layer, H, dtype)
    R = np.empty((T, B, 4 * H), dtype=dtype)
    project_inputs(xin, w_ih_t, bias, R)
    S = R[:, :, : 2 * H]  # [r, z]
    Rv, Zv, Nv, Hv = (R[:, :, k * H : (k + 1) * H] for k in range(4))
    first, second = {"r": 0, "z": H}, {"n": 2 * H}
    rec = np.empty((B, 3 * H), dtype=dtype)  # W_hh h_prev
    rec_rz, rec_n = rec[:, : 2 * H], rec[:, 2 * H :]
    h_prev = h0
    for t in range(T):
        np.dot(h_prev, w_hh_t, rec)
        s = S[t]
        np.add(s, rec_rz, out=s)
        np.tanh(s, out=s)
        np.multiply(s, 0.5, out=s)
        np.add(s, 0.5, out=s)  # r, z
        if clamps is not None and t in clamps:
            apply_clamps(R[t], clamps[t], first)
        n = Nv[t]
        np.add(rec_n, b_hn, out=rec_n)  # W_hn h + b_hn
        np.multiply(Rv[t], rec_n, out=rec_n)  # r * (W_hn h + b_hn)
        np.add(n, rec_n, out=n)
        np.tanh(n, out=n)  # n
        if clamps is not None and t in clamps:
            apply_clamps(R[t], clamps[t], second)
        h = Hv[t]
        np.subtract(h_prev, n, out=h)
        np.multiply(h, Zv[t], out=h)
        np.add(h, n, out=h)  # h = (h_prev - n) * z + n
        h_prev = h
    fields = {"r": Rv, "z": Zv, "n": Nv, "h": Hv}
    return LayerResult(fields, Hv, Hv[T - 1], None)
