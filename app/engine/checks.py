"""Input checks shared by the trace and the live stepper: shapes, dtypes, finite values."""

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.errors import EngineError, ShapeError
from app.engine.weight_cache import stack_cache

# Larger magnitudes can overflow float32 pre-activations; no real input needs them.
MAX_ABS_VALUE = 1e12


def as_float_dtype(dtype: Any) -> np.dtype[Any]:
    """np.float32 or np.float64 (as a type, dtype or name); anything else is refused."""
    try:
        resolved: np.dtype[Any] = np.dtype(dtype)
    except TypeError as exc:
        raise EngineError(f"dtype {dtype!r} is not a NumPy dtype; use float32 or float64") from exc
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise EngineError(f"dtype {resolved} is not supported; use float32 or float64")
    return resolved


def check_finite(name: str, arr: np.ndarray) -> None:
    """Refuse NaN, infinity and magnitudes above MAX_ABS_VALUE, naming the first bad index."""
    if arr.size == 0 or (arr.min() >= -MAX_ABS_VALUE and arr.max() <= MAX_ABS_VALUE):
        return  # two reductions, no temporaries; NaN fails both comparisons
    bad = ~np.isfinite(arr) | (np.abs(arr) > MAX_ABS_VALUE)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise EngineError(
            f"{name}{list(where)} is {float(arr[where])}; values must be finite with "
            f"magnitude at most {MAX_ABS_VALUE:g}",
            name,
        )


def as_array(name: str, value: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """Convert to a float array of `dtype`; non-numeric input becomes an EngineError."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EngineError(f"{name} is not an array of numbers: {exc}", name) from exc
    check_finite(name, arr)
    return arr.astype(dtype, copy=False)


def check_input(x: Any, input_size: int, dtype: np.dtype[Any]) -> tuple[np.ndarray, bool]:
    """x (T, D) or (T, B, D) -> ((T, B, D) array of dtype, whether x had a batch axis)."""
    arr = as_array("x", x, dtype)
    if arr.ndim not in (2, 3):
        raise ShapeError(
            f"x has shape {arr.shape}, expected (steps, {input_size}) "
            f"or (steps, batch, {input_size})"
        )
    batched = arr.ndim == 3
    if arr.shape[-1] != input_size:
        expected = "(steps, batch, {0})" if batched else "(steps, {0})"
        raise ShapeError(f"x has shape {arr.shape}, expected {expected.format(input_size)}")
    if arr.shape[0] < 1 or (batched and arr.shape[1] < 1):
        raise ShapeError(f"x has shape {arr.shape}; need at least one step and one batch row")
    return (arr if batched else arr[:, None, :]), batched


def check_state(
    name: str,
    value: Any,
    num_layers: int,
    batch: int,
    hidden_size: int,
    batched: bool,
    dtype: np.dtype[Any],
) -> np.ndarray:
    """An initial state (L, H) or (L, B, H) -> (L, B, H) array; None gives zeros."""
    if value is None:
        return np.zeros((num_layers, batch, hidden_size), dtype=dtype)
    arr = as_array(name, value, dtype)
    expected = (num_layers, batch, hidden_size) if batched else (num_layers, hidden_size)
    if arr.shape != expected:
        raise ShapeError(f"{name} has shape {arr.shape}, expected {expected} (layers, units)", name)
    return arr if batched else arr[:, None, :]


def check_weights(params: Mapping[str, np.ndarray]) -> None:
    """Every weight finite and within MAX_ABS_VALUE (shapes are model_sizes' job); once for
    a PreparedParams, whose tensors do not change."""
    cache = stack_cache(params)
    if cache is not None and cache.checked:
        return
    for name, value in params.items():
        check_finite(name, np.asarray(value))
    if cache is not None:
        cache.checked = True
