"""Turn Clamp records into a per-layer, per-step schedule the cell loops can apply cheaply."""

from collections.abc import Sequence

import numpy as np

from app.engine.errors import EngineError
from app.engine.records import Clamp
from app.engine.spec import GATES, SIGMOID_GATES

DIRECTIONS = ("forward", "backward")
# One clamp at one step: (field, unit indices, value).
ClampAction = tuple[str, np.ndarray, float]
# step -> actions in the order given (a later clamp wins on overlap).
StepClamps = dict[int, list[ClampAction]]


def _indices(name: str, values: Sequence[int] | None, size: int, what: str) -> np.ndarray:
    if values is None:
        return np.arange(size, dtype=np.intp)
    try:
        idx = np.asarray(list(values), dtype=np.intp)
    except (TypeError, ValueError, OverflowError) as exc:
        raise EngineError(f"{name} must be whole numbers below {size}: {exc}") from exc
    if idx.ndim != 1:
        raise EngineError(f"{name} must be a flat list of whole numbers")
    bad = idx[(idx < 0) | (idx >= size)]
    if bad.size:
        raise EngineError(f"{name} contains {int(bad[0])}; {what} run from 0 to {size - 1}")
    return idx


def compile_clamps(
    clamps: Sequence[Clamp],
    cell: str,
    num_layers: int,
    steps: int,
    hidden_size: int,
    name: str = "clamps",
    num_directions: int = 1,
    direction: str = "forward",
) -> list[StepClamps | None]:
    """Validate clamps and group those of `direction` by layer and step; None for a layer
    without clamps. A backward direction runs over the reversed sequence, so its schedule
    counts steps backward (a clamp at step t acts at loop step T - 1 - t).
    Errors call the list `name` (the caller's name for it)."""
    schedule: list[StepClamps | None] = [None] * num_layers
    directions = DIRECTIONS[:num_directions]
    for n, clamp in enumerate(clamps):
        where = f"{name}[{n}]"
        if clamp.direction not in directions:
            one = " (this model runs forward only)" if num_directions == 1 else ""
            raise EngineError(
                f"{where}.direction {clamp.direction!r} is not one of {', '.join(directions)}{one}"
            )
        if clamp.field not in GATES[cell]:
            allowed = ", ".join(GATES[cell]) or "none (this cell has no gates)"
            raise EngineError(
                f"{where}.field {clamp.field!r} is not a clampable gate of {cell}; "
                f"clampable: {allowed}"
            )
        value = float(clamp.value)
        low = 0.0 if clamp.field in SIGMOID_GATES else -1.0
        if not (low <= value <= 1.0):
            raise EngineError(
                f"{where}.value is {clamp.value!r}; gate {clamp.field} takes values "
                f"from {low:g} to 1"
            )
        if not (0 <= clamp.layer < num_layers):
            raise EngineError(
                f"{where}.layer is {clamp.layer}; layers run from 0 to {num_layers - 1}"
            )
        units = _indices(f"{where}.units", clamp.units, hidden_size, "units")
        step_idx = _indices(f"{where}.steps", clamp.steps, steps, "steps")
        if clamp.direction != direction:
            continue
        if direction == "backward":
            step_idx = steps - 1 - step_idx
        layer = schedule[clamp.layer]
        if layer is None:
            layer = schedule[clamp.layer] = {}
        for t in step_idx.tolist():
            layer.setdefault(t, []).append((clamp.field, units, value))
    return schedule
