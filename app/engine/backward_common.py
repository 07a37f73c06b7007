"""Pieces every backward loop shares: one layer's gradients, clamp masks, the weight GEMMs.

Shapes: T steps, B batch rows, D_in layer input size, H hidden units, G gate blocks.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.cell_common import aligned_copy
from app.engine.clamps import StepClamps


@dataclass
class LayerGrads:
    """The gradients of one layer, all in the layer's dtype.

    params: this layer's tensors by their full names (weight_ih_l{k} ...), PyTorch shapes.
    dxin: (T, B, D_in) gradient reaching the layer's input (x, or h of the layer below).
    dh0, dc0: (B, H) gradient reaching the initial states (dc0 None without a cell state).
    dh, dc: (T, B, H) total gradient reaching h_t and c_t (through every path).
    """

    params: dict[str, np.ndarray]
    dxin: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray | None
    dh: np.ndarray
    dc: np.ndarray | None


def clamp_masks(clamps: StepClamps | None, steps: int, hidden_size: int) -> dict[str, np.ndarray]:
    """field -> (T, 1, H) bool, True where the gate was clamped (a constant: no gradient)."""
    masks: dict[str, np.ndarray] = {}
    if clamps is None:
        return masks
    for t, actions in clamps.items():
        for field, units, _ in actions:
            if field not in masks:
                masks[field] = np.zeros((steps, 1, hidden_size), dtype=bool)
            masks[field][t, 0, units] = True
    return masks


def zero_where(k: np.ndarray, mask: np.ndarray | None) -> None:
    """k (T, B, H) in place: 0 where mask (T, 1, H) is True."""
    if mask is not None:
        np.copyto(k, 0.0, where=mask)


def norms(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Euclidean norms of a over `axes`, scaled so that neither squares nor sums overflow or
    underflow: a vanishing gradient of 1e-200 keeps its norm instead of reading 0, and an
    exploding one of 1e200 does not become inf."""
    scale = np.max(np.abs(a), axis=axes, keepdims=True, initial=0.0)  # largest |entry| a slice
    scale[scale == 0] = 1.0  # all-zero slices: norm 0
    scaled = a / scale
    total = np.sqrt(np.sum(scaled * scaled, axis=axes, keepdims=True)) * scale
    out: np.ndarray = np.squeeze(total, axis=axes)
    return out


def sigmoid_grad(s: np.ndarray, out: np.ndarray) -> np.ndarray:
    """d sigmoid(a) / da from the gate value s = sigmoid(a): s * (1 - s), written into out."""
    np.subtract(1.0, s, out=out)
    np.multiply(out, s, out=out)
    return out


def weight(params: Mapping[str, np.ndarray], name: str, dtype: np.dtype[Any]) -> np.ndarray:
    """A 64-byte-aligned C-contiguous copy of params[name] in dtype (see aligned_empty)."""
    return aligned_copy(params[name], dtype)


def times_prev(out: np.ndarray, first: np.ndarray, seq: np.ndarray) -> None:
    """out (T, B, H) *= the previous-step sequence [first, seq[0], ..., seq[T-2]] (no copy)."""
    np.multiply(out[0], first, out=out[0])
    np.multiply(out[1:], seq[:-1], out=out[1:])


def one_row(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Views without the batch axis (axis 1): with one row, ufuncs on 1-d steps are cheaper."""
    return tuple(a[:, 0] for a in arrays)


def input_and_weight_grads(
    params: Mapping[str, np.ndarray],
    layer: int,
    da_x: np.ndarray,
    da_h: np.ndarray,
    xin: np.ndarray,
    h0: np.ndarray,
    h: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Weight, bias and input gradients from the per-step pre-activation gradients, by GEMMs.

    da_x: (T, B, G*H) dL/d(W_ih x + b_ih); da_h: (T, B, G*H) dL/d(W_hh h_prev + b_hh) (the
    same array for every cell except the GRU); either may be a strided view.
    xin: (T, B, D_in); h0: (B, H); h: (T, B, H) the layer's h, so h_prev = [h0, h[:-1]].
    Returns ({weight_ih, weight_hh, bias_ih, bias_hh of the layer}, dxin (T, B, D_in)).
    """
    T, B, GH = da_x.shape
    dtype = da_x.dtype
    ax = da_x.reshape(T * B, GH)
    ah = ax if da_h is da_x else da_h.reshape(T * B, GH)
    w_ih = weight(params, f"weight_ih_l{layer}", dtype)
    dw_hh = ah[B:].T @ h[:-1].reshape((T - 1) * B, h.shape[-1])  # sum_t da_h[t]^T h[t-1], t >= 1
    dw_hh += ah[:B].T @ h0  # t = 0: h[-1] = h0
    grads = {
        f"weight_ih_l{layer}": ax.T @ xin.reshape(T * B, -1),  # sum_t da_x[t]^T x[t]
        f"weight_hh_l{layer}": dw_hh,
        f"bias_ih_l{layer}": ax.sum(axis=0),
        f"bias_hh_l{layer}": ah.sum(axis=0),
    }
    dxin = (ax @ w_ih).reshape(T, B, -1)  # dL/dx[t] = da_x[t] W_ih
    return grads, dxin
