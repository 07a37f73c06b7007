"""Losses for BPTT: their value and the gradient they put on h (or on the readout's logits).

Kinds (see Loss):
    unit         L = sum_b h[step, layer, b, unit]             one chosen unit of h
    mse_h        L = mean (h_top - targets)^2                  over kept steps and units
    mse_readout  L = mean (logits - targets)^2                 regression through the readout
    xent         L = mean -log softmax(logits)[target]         over kept (step, row) positions
"""

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from app.engine.checks import as_array
from app.engine.errors import EngineError, ShapeError

LossKind = Literal["unit", "mse_h", "mse_readout", "xent"]
LOSS_KINDS: tuple[str, ...] = ("unit", "mse_h", "mse_readout", "xent")


@dataclass(frozen=True, eq=False)  # eq=False: targets are arrays, compared by identity
class Loss:
    """What backward differentiates.

    kind "unit": L = h[step, layer, unit] (summed over batch rows); step and layer may be
    negative (counted from the end, -1 = last step / top layer).
    kind "mse_h": targets like the top layer's h, (T, H) or (T, B, H).
    kind "mse_readout": targets like the readout's logits, (T, V) or (T, B, V).
    kind "xent": integer class targets (T,) or (T, B); a target equal to ignore_index (as in
    torch.nn.CrossEntropyLoss) marks a position with no target.
    mask: optional (T,) or (T, B) (with a batch axis), true where a step counts (all others
    add nothing). reduction "mean" divides by the number of counted elements (for MSE: counted
    positions x width, as torch.nn.MSELoss over those positions), "sum" does not. With nothing
    counted the loss and every gradient are 0.
    """

    kind: LossKind
    targets: Any = None
    mask: Any = None
    step: int = -1
    unit: int = 0
    layer: int = -1
    ignore_index: int = -100
    reduction: Literal["mean", "sum"] = "mean"


@dataclass
class LossSeeds:
    """The loss value, dL/dh put directly on each layer's h (None: nothing), dL/dlogits."""

    value: float
    dh: list[np.ndarray | None]  # per layer, (T, B, H)
    dlogits: np.ndarray | None  # (T, B, V)


def _index(name: str, value: int, size: int, what: str, negative: bool) -> int:
    low = -size if negative else 0
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise EngineError(f"loss.{name} is {value!r}; expected a whole number", f"loss.{name}")
    if not low <= value < size:
        counted = f" (or {low} to -1, counted from the end)" if negative else ""
        raise EngineError(
            f"loss.{name} is {value}; {what} run from 0 to {size - 1}{counted}", f"loss.{name}"
        )
    return int(value) % size


def _mask(loss: Loss, T: int, B: int, batched: bool) -> np.ndarray:
    """(T, B) bool of counted positions."""
    if loss.mask is None:
        return np.ones((T, B), dtype=bool)
    try:
        mask = np.asarray(loss.mask)
    except (TypeError, ValueError) as exc:
        raise EngineError(f"loss.mask is not an array: {exc}", "loss.mask") from exc
    allowed = [(T,), (T, B)] if batched else [(T,)]
    if mask.shape not in allowed:
        want = " or ".join(str(s) for s in allowed)
        raise ShapeError(
            f"loss.mask has shape {mask.shape}, expected {want} (steps[, batch])", "loss.mask"
        )
    if mask.dtype != bool and not np.isin(mask, (0, 1)).all():
        raise EngineError("loss.mask must hold booleans (or 0 / 1)", "loss.mask")
    mask = mask.astype(bool)
    return np.broadcast_to(mask[:, None], (T, B)) if mask.ndim == 1 else mask


def _targets(loss: Loss, shape: tuple[int, ...], batched: bool, dtype: np.dtype[Any]) -> np.ndarray:
    """Float targets of the batch-less or batched `shape` (T, B, W) -> (T, B, W)."""
    if loss.targets is None:
        raise EngineError(f"loss.targets is missing; kind {loss.kind} needs them", "loss.targets")
    y = as_array("loss.targets", loss.targets, dtype)
    T, B, W = shape
    want = (T, B, W) if batched else (T, W)
    if y.shape != want:
        raise ShapeError(f"loss.targets has shape {y.shape}, expected {want}", "loss.targets")
    return y if batched else y[:, None, :]


def _class_targets(loss: Loss, T: int, B: int, V: int, batched: bool) -> np.ndarray:
    """Integer targets (T, B); ignore_index is kept, anything else must be in [0, V)."""
    if loss.targets is None:
        raise EngineError("loss.targets is missing; kind xent needs class indices", "loss.targets")
    try:
        raw = np.asarray(loss.targets)
        y = raw.astype(np.int64)
    except (TypeError, ValueError) as exc:
        raise EngineError(
            f"loss.targets is not an array of class indices: {exc}", "loss.targets"
        ) from exc
    if raw.dtype.kind not in "iub" and not np.array_equal(raw, y):
        raise EngineError("loss.targets must be whole numbers (class indices)", "loss.targets")
    want = (T, B) if batched else (T,)
    if y.shape != want:
        raise ShapeError(
            f"loss.targets has shape {y.shape}, expected {want} (class indices)", "loss.targets"
        )
    y = y if batched else y[:, None]
    bad = y[(y != loss.ignore_index) & ((y < 0) | (y >= V))]
    if bad.size:
        raise EngineError(
            f"loss.targets contains {int(bad[0])}; classes run from 0 to {V - 1} "
            f"(or ignore_index {loss.ignore_index})",
            "loss.targets",
        )
    return y


def _mse(loss: Loss, out: np.ndarray, batched: bool) -> tuple[float, np.ndarray]:
    """(value, dL/dout) for a mean squared error on out (T, B, W)."""
    T, B, W = out.shape
    y = _targets(loss, (T, B, W), batched, out.dtype)
    keep = _mask(loss, T, B, batched)
    count = int(keep.sum()) * W
    diff = out - y
    diff *= keep[:, :, None]
    denom = max(count, 1) if loss.reduction == "mean" else 1
    value = float(np.vdot(diff, diff)) / denom
    diff *= 2.0 / denom
    return value, diff


def _xent(loss: Loss, logits: np.ndarray, batched: bool) -> tuple[float, np.ndarray]:
    """(value, dL/dlogits) for cross-entropy of softmax(logits) (T, B, V) against class indices."""
    T, B, V = logits.shape
    y = _class_targets(loss, T, B, V, batched)
    keep = _mask(loss, T, B, batched) & (y != loss.ignore_index)
    count = int(keep.sum())
    denom = max(count, 1) if loss.reduction == "mean" else 1
    z = logits - logits.max(axis=-1, keepdims=True)
    p = np.exp(z)
    total = p.sum(axis=-1, keepdims=True)
    p /= total  # softmax
    y_safe = np.where(keep, y, 0)[:, :, None]
    log_p_y = np.take_along_axis(z, y_safe, axis=-1)[:, :, 0] - np.log(total[:, :, 0])
    value = -float(np.sum(log_p_y, where=keep)) / denom
    grad = p
    t_idx, b_idx = np.nonzero(keep)
    grad[t_idx, b_idx, y[keep]] -= 1.0  # softmax - one_hot(y)
    grad *= keep[:, :, None] / denom
    return value, grad


def loss_seeds(
    loss: Loss,
    hs: list[np.ndarray],
    logits: np.ndarray | None,
    batched: bool,
) -> LossSeeds:
    """Value and initial gradients of `loss`. hs: each layer's h (T, B, H); logits (T, B, V)."""
    if not isinstance(loss, Loss):
        raise EngineError(
            f"loss must be a Loss (kind one of {', '.join(LOSS_KINDS)}), not {loss!r}"
        )
    if loss.kind not in LOSS_KINDS:
        raise EngineError(
            f"loss.kind {loss.kind!r} is unknown; expected one of {', '.join(LOSS_KINDS)}",
            "loss.kind",
        )
    if loss.reduction not in ("mean", "sum"):
        raise EngineError(
            f"loss.reduction {loss.reduction!r} is unknown; use 'mean' or 'sum'", "loss.reduction"
        )
    L = len(hs)
    T, B, H = hs[-1].shape
    dh: list[np.ndarray | None] = [None] * L
    if loss.kind == "unit":
        for name in ("targets", "mask"):
            if getattr(loss, name) is not None:
                raise EngineError(
                    f"loss.{name} is given but kind unit does not use it", f"loss.{name}"
                )
        layer = _index("layer", loss.layer, L, "layers", negative=True)
        step = _index("step", loss.step, T, "steps", negative=True)
        unit = _index("unit", loss.unit, H, "units", negative=False)
        seed = np.zeros((T, B, H), dtype=hs[-1].dtype)
        seed[step, :, unit] = 1.0
        dh[layer] = seed
        return LossSeeds(float(hs[layer][step, :, unit].sum()), dh, None)
    if loss.kind == "mse_h":
        value, dh[-1] = _mse(loss, hs[-1], batched)
        return LossSeeds(value, dh, None)
    if logits is None:
        raise EngineError(
            f"loss kind {loss.kind} needs a readout (weight (V, H), bias (V,))", "loss.kind"
        )
    if loss.kind == "mse_readout":
        value, dlogits = _mse(loss, logits, batched)
    else:
        value, dlogits = _xent(loss, logits, batched)
    return LossSeeds(value, dh, dlogits)
