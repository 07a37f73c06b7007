"""The engine's data: clamps (interventions), a readout layer, a trace, a live state."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clamp:
    """Force one gate of some units at some steps to a value; the rest of the trace follows.

    `units` and `steps` take any sequence of ints, so ``range(5, 10)`` means steps 5 to 9.
    None means every unit / every step. The clamp acts on layer `layer` and on every batch row.
    Example: ``Clamp("f", 1.0, units=range(4), steps=range(5, 10))``.
    """

    field: str
    value: float
    units: Sequence[int] | None = None
    steps: Sequence[int] | None = None
    layer: int = 0


@dataclass
class Readout:
    """Linear readout on the top layer's h: logits = h @ weight.T + bias, probs = softmax.

    weight: (V, H); bias: (V,).
    """

    weight: np.ndarray
    bias: np.ndarray


@dataclass
class Trace:
    """Every traced quantity of every layer at every step.

    layers[k][field]: (T, H), or (T, B, H) when x had a batch axis.
    h_n, c_n: (L, H) or (L, B, H); c_n is None for cells without a cell state.
    logits, probs: (T, V) or (T, B, V) when a readout was given, else None.
    """

    cell: str
    input_size: int
    hidden_size: int
    num_layers: int
    layers: list[dict[str, np.ndarray]]
    h_n: np.ndarray
    c_n: np.ndarray | None
    logits: np.ndarray | None = None
    probs: np.ndarray | None = None


@dataclass
class State:
    """The recurrent state between live steps: h (L, H) or (L, B, H); c likewise or None."""

    h: np.ndarray
    c: np.ndarray | None
