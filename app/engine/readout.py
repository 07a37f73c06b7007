"""Readout layer on top of the stack: logits = h @ W^T + b, probs = softmax(logits)."""

from typing import Any

import numpy as np

from app.engine.checks import as_array
from app.engine.errors import ShapeError
from app.engine.records import Readout


def check_readout(readout: Readout, hidden_size: int, dtype: np.dtype[Any]) -> Readout:
    """Validated copy in `dtype`: weight (V, H), bias (V,)."""
    weight = as_array("readout.weight", readout.weight, dtype)
    bias = as_array("readout.bias", readout.bias, dtype)
    if weight.ndim != 2 or weight.shape[1] != hidden_size or weight.shape[0] < 1:
        raise ShapeError(
            f"readout.weight has shape {weight.shape}, expected (vocabulary, {hidden_size})"
        )
    if bias.shape != (weight.shape[0],):
        raise ShapeError(f"readout.bias has shape {bias.shape}, expected ({weight.shape[0]},)")
    return Readout(weight, bias)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the max so exp never overflows."""
    z: np.ndarray = logits - logits.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def apply_readout(readout: Readout, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h (..., H) -> (logits, probs), each (..., V). readout must be check_readout's output."""
    logits = h @ readout.weight.T
    logits += readout.bias
    return logits, softmax(logits)
