"""The engine's data: clamps (interventions), a readout layer, a trace, a live state."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clamp:
    """Force one gate of some units at some steps to a value; the rest of the trace follows.

    `units` and `steps` take any sequence of ints, so ``range(5, 10)`` means steps 5 to 9.
    None means every unit / every step. The clamp acts on layer `layer` and on every batch row,
    in one direction of a bidirectional layer (steps count in forward time for both).
    Example: ``Clamp("f", 1.0, units=range(4), steps=range(5, 10))``.
    """

    field: str
    value: float
    units: Sequence[int] | None = None
    steps: Sequence[int] | None = None
    layer: int = 0
    direction: str = "forward"  # or "backward"


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
    backward[k][field]: the same for the backward direction of a bidirectional model (run
    over the reversed sequence, stored in forward time: row t is input step t); else None.
    h_n, c_n: (L * D, H) or (L * D, B, H), row k * D + d for layer k, direction d (torch's
    order; D = num_directions); c_n is None for cells without a cell state.
    proj_size: P of an lstm with a projection (torch's proj_size), else 0; then h, h_n have P
    units, c, c_n and the gates H, and each layer has h_unprojected (H), o * tanh(c) before
    h = W_hr h_unprojected.
    logits, probs: (T, V) or (T, B, V) when a readout was given, else None; the readout reads
    the top layer's h, both directions concatenated [forward, backward].
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
    backward: list[dict[str, np.ndarray]] | None = None
    kernel: str = "numpy"  # the loop that ran: "numpy", "numba" or "numba+numpy" (mixed)
    proj_size: int = 0

    @property
    def num_directions(self) -> int:
        return 1 if self.backward is None else 2


@dataclass
class State:
    """The recurrent state between live steps: h (L, H) or (L, B, H); c likewise or None."""

    h: np.ndarray
    c: np.ndarray | None
