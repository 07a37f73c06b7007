"""What every task hands the trainer: a batch of inputs, targets and a loss mask."""

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

TargetKind = Literal["classes", "values"]


@dataclass(frozen=True)
class Batch:
    """One batch, time-major like the engine's traces.

    x: (T, B, D) float64 inputs.
    targets: (T, B) int64 class ids (kind "classes") or (T, B, 1) float64 values ("values").
    mask: (T, B) float64, 1.0 where the loss counts and 0.0 elsewhere.
    """

    x: np.ndarray
    targets: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True)
class TaskInfo:
    """What a task is, in words for people: shown with every model trained on it."""

    name: str
    summary: dict[str, str]  # {"zh": ..., "en": ...}: what the model must learn
    look_at: dict[str, str]  # {"zh": ..., "en": ...}: which units to look at and why


class Task(Protocol):
    """A task made in code: fixed sizes and vocabulary, random batches from a generator."""

    info: TaskInfo
    input_size: int
    output_size: int
    target_kind: TargetKind
    vocab: tuple[str, ...] | None  # input tokens (one-hot order), None for numeric input

    def sample(self, rng: np.random.Generator, batch_size: int) -> Batch: ...


def one_hot(ids: np.ndarray, size: int) -> np.ndarray:
    """ids (...) int -> (..., size) float64 with a single 1.0 per row."""
    out = np.zeros((*ids.shape, size), dtype=np.float64)
    np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
    return out


def check_positive(name: str, value: int, minimum: int = 1) -> None:
    """Refuse a size below `minimum`, naming it."""
    if value < minimum:
        raise ValueError(f"{name} is {value}, must be at least {minimum}")
