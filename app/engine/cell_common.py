"""Pieces every cell loop shares: the per-layer result, aligned buffers, the weight re-stacking."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.clamps import ClampAction, StepClamps
from app.engine.weight_cache import cached

ALIGN = 64  # bytes: one cache line, one AVX-512 register


@dataclass
class LayerResult:
    """One layer's trace: fields -> (T, B, H) views, the h sequence fed to the next layer."""

    fields: dict[str, np.ndarray]
    h_seq: np.ndarray  # (T, B, H)
    h_n: np.ndarray  # (B, H)
    c_n: np.ndarray | None  # (B, H)
    kernel: str = "numpy"  # the loop that ran: "numpy" or "numba" (app/engine/kernel.py)


def aligned_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """np.empty(shape, dtype), C-contiguous, whose data starts on a 64-byte boundary.

    malloc only promises 16 bytes, and the engine's speed depends on the rest: at (512, 128)
    float64 OpenBLAS's gemv takes 5.4-6.8 us over a 64-byte-aligned matrix and 9.4-11 us over
    one that is not (every AVX-512 load then straddles two cache lines). A row of the LSTM
    trace buffer (9H numbers) stays aligned too when H is a multiple of 8 (float64) or 16.
    """
    dt = np.dtype(dtype)
    nbytes = math.prod(shape) * dt.itemsize
    raw = np.empty(nbytes + ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGN
    out: np.ndarray = raw[start : start + nbytes].view(dt).reshape(shape)
    return out


def aligned_copy(a: np.ndarray, dtype: Any) -> np.ndarray:
    """A 64-byte-aligned C-contiguous copy of a in dtype (see aligned_empty)."""
    out = aligned_empty(np.shape(a), dtype)
    out[...] = a
    return out


def stacked_weights(
    params: Mapping[str, np.ndarray],
    layer: int,
    hidden_size: int,
    order: Sequence[int],
    scales: Sequence[float],
    dtype: np.dtype[Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Re-stack PyTorch's H-row gate blocks in `order`, each scaled, transposed for x @ W.

    Returns W_ih^T (D, G*H), W_hh^T (H, G*H) and the summed bias b_ih + b_hh (G*H,).
    Scaling by 0.5 (exact in binary floating point) folds the inner half of
    sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5 into the weights, so one tanh covers every gate.
    Made once per PreparedParams (app/engine/weight_cache.py), else on every call.
    """
    H = hidden_size
    names = tuple(f"{n}_l{layer}" for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    key = ("stacked", tuple(order), tuple(scales), np.dtype(dtype).str)
    return cached(params, key, names, lambda: _stacked(params, names, H, order, scales, dtype))


def _stacked(
    params: Mapping[str, np.ndarray],
    names: tuple[str, ...],
    H: int,
    order: Sequence[int],
    scales: Sequence[float],
    dtype: np.dtype[Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def restack_t(w: np.ndarray) -> np.ndarray:  # (G*H, n) -> (n, G*H), blocks re-ordered
        w = np.asarray(w)
        out = aligned_empty((w.shape[1], len(order) * H), dtype)
        for k, (j, s) in enumerate(zip(order, scales, strict=True)):
            np.multiply(w[j * H : (j + 1) * H].T, s, out=out[:, k * H : (k + 1) * H])
        return out

    w_ih, w_hh, b_ih, b_hh = (params[n] for n in names)
    w_ih_t = restack_t(w_ih)
    w_hh_t = restack_t(w_hh)
    b = np.asarray(b_ih, dtype=np.float64) + np.asarray(b_hh, dtype=np.float64)
    bias = restack_t(b[:, None])[0]
    return w_ih_t, w_hh_t, bias


def project_inputs(xin: np.ndarray, w_ih_t: np.ndarray, bias: np.ndarray, R: np.ndarray) -> None:
    """R[t, b, :G*H] = xin[t, b] @ W_ih^T + bias for every step, in one GEMM.

    xin: (T, B, D); R: (T or T + 1, B, width), C-contiguous. The bias rides in the GEMM as an
    extra row of W_ih^T against a column of ones, and the GEMM writes straight into R.
    """
    T, B, D = xin.shape
    assert R.flags.c_contiguous  # so the reshape below is a view the GEMM writes through
    x1 = np.empty((T * B, D + 1), dtype=R.dtype)
    x1[:, :D] = xin.reshape(T * B, D)
    x1[:, D] = 1.0
    w1 = np.concatenate([w_ih_t, bias[None, :]]).astype(R.dtype, copy=False)
    np.matmul(x1, w1, out=R[:T].reshape(T * B, R.shape[-1])[:, : w_ih_t.shape[1]])


def dense_clamps(
    clamps: StepClamps | None, offsets: Mapping[str, int], T: int, width: int, dtype: Any
) -> tuple[np.ndarray, np.ndarray]:
    """A schedule as arrays for a compiled loop: (T,) bool, whether step t has clamps, and
    (T, width) values at offset(field) + units, NaN where nothing is clamped ((1, width)
    when nothing is clamped at all)."""
    at = np.zeros(T, dtype=np.bool_)
    values = np.full((T if clamps else 1, width), np.nan, dtype=dtype)
    for t, actions in (clamps or {}).items():
        at[t] = True
        for field, units, value in actions:
            offset = offsets.get(field)
            if offset is not None:
                values[t, offset + units] = value
    return at, values


def apply_clamps(row: np.ndarray, actions: list[ClampAction], offsets: Mapping[str, int]) -> None:
    """Set row[:, offset(field) + units] = value for the actions whose field is in offsets."""
    for field, units, value in actions:
        offset = offsets.get(field)
        if offset is not None:
            row[:, offset + units] = value
