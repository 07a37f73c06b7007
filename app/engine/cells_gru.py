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

from app.engine.cell_common import (
    LayerResult,
    aligned_copy,
    aligned_empty,
    apply_clamps,
    project_inputs,
)
from app.engine.clamps import StepClamps
from app.engine.weight_cache import cached


def _weights(
    params: Mapping[str, np.ndarray], layer: int, H: int, dtype: np.dtype[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_gru_weights, made once per PreparedParams (app/engine/weight_cache.py)."""
    names = tuple(f"{n}_l{layer}" for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    key = ("gru", np.dtype(dtype).str)
    return cached(params, key, names, lambda: _gru_weights(params, layer, H, dtype))


def _gru_weights(
    params: Mapping[str, np.ndarray], layer: int, H: int, dtype: np.dtype[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W_ih^T (D, 3H); [W_hh^T; 0 0 b_hn] (H + 1, 3H); input bias (3H,). r, z rows halved.

    The extra row of the recurrent matrix meets a constant 1 stored after h, so one np.dot
    gives W_hr h + 0, W_hz h + 0 and W_hn h + b_hn (b_hr, b_hz join the input projection).
    """
    half = np.repeat([0.5, 0.5, 1.0], H)  # folds sigmoid(z) = 0.5 tanh(0.5 z) + 0.5
    w_ih = np.asarray(params[f"weight_ih_l{layer}"], dtype=np.float64) * half[:, None]
    w_hh = np.asarray(params[f"weight_hh_l{layer}"], dtype=np.float64) * half[:, None]
    b_ih = np.asarray(params[f"bias_ih_l{layer}"], dtype=np.float64)
    b_hh = np.asarray(params[f"bias_hh_l{layer}"], dtype=np.float64)
    bias = b_ih.copy()
    bias[: 2 * H] += b_hh[: 2 * H]
    rec_row = np.zeros(3 * H)
    rec_row[2 * H :] = b_hh[2 * H :]
    return (
        aligned_copy(w_ih.T, dtype),
        aligned_copy(np.vstack([w_hh.T, rec_row]), dtype),
        (bias * half).astype(dtype),
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
    w_ih_t, w_hh_1, bias = _weights(params, layer, H, dtype)
    R = aligned_empty((T, B, 4 * H + 1), dtype)  # row t: [r, z, n, h, 1]
    project_inputs(xin, w_ih_t, bias, R)
    R[:, :, 4 * H] = 1.0
    h1_0 = np.concatenate([h0, np.ones((B, 1), dtype=dtype)], axis=1)
    RR, h1 = (R[:, 0, :], h1_0[0]) if B == 1 else (R, h1_0)

    def span(first: int, stop: int) -> np.ndarray:
        return RR[..., first * H : stop]

    first, second = {"r": 0, "z": H}, {"n": 2 * H}
    rec = aligned_empty((*h1.shape[:-1], 3 * H), dtype)  # W_hh h_prev (+ b_hn)
    rec_rz, rec_n = rec[..., : 2 * H], rec[..., 2 * H :]
    half = np.asarray(0.5, dtype=dtype)
    add, mul, sub, tanh, dot = np.add, np.multiply, np.subtract, np.tanh, np.dot
    h_prev = h1[..., :H]
    steps = zip(
        span(0, 2 * H),  # s: [r, z]
        span(0, H),  # r
        span(1, 2 * H),  # z
        span(2, 3 * H),  # n
        span(3, 4 * H),  # h
        span(3, 4 * H + 1),  # [h, 1] for the next step's np.dot
        strict=True,
    )
    for t, (s, r, z, n, h, h1_t) in enumerate(steps):
        dot(h1, w_hh_1, rec)
        add(s, rec_rz, s)
        tanh(s, s)
        mul(s, half, s)
        add(s, half, s)  # r, z
        if clamps is not None and t in clamps:
            apply_clamps(R[t], clamps[t], first)
        mul(r, rec_n, rec_n)  # r * (W_hn h + b_hn)
        add(n, rec_n, n)
        tanh(n, n)  # n
        if clamps is not None and t in clamps:
            apply_clamps(R[t], clamps[t], second)
        sub(h_prev, n, h)
        mul(h, z, h)
        add(h, n, h)  # h = (h_prev - n) * z + n
        h_prev, h1 = h, h1_t
    Rv, Zv, Nv, Hv = (R[:, :, k * H : (k + 1) * H] for k in range(4))
    return LayerResult({"r": Rv, "z": Zv, "n": Nv, "h": Hv}, Hv, Hv[T - 1], None)
