"""Weights in PyTorch's state_dict layout: names, shapes, random init and validation."""

from collections.abc import Mapping

import numpy as np

from app.engine.errors import EngineError, LayoutError
from app.engine.spec import GATE_ROWS, PEEPHOLES, check_cell
from app.engine.weight_cache import PreparedParams, stack_cache

REVERSE = "_reverse"  # PyTorch's suffix for the backward direction's tensors
PROJECTION = "weight_hr"  # nn.LSTM(proj_size=P): h_t = W_hr (o_t * tanh(c_t)), W_hr (P, H)


def expected_shapes(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    num_directions: int = 1,
    proj_size: int = 0,
) -> dict[str, tuple[int, ...]]:
    """Every tensor name of the cell's layout -> its shape, in PyTorch's parameter order.

    A bidirectional model (num_directions 2) has each layer's tensors twice, the backward
    direction's with the suffix "_reverse", and layer k > 0 reads both directions' h (2H).
    proj_size P > 0 (standard lstm only, as nn.LSTM(proj_size=P)): h has P units, so
    weight_hh is (4H, P), each layer adds weight_hr (P, H) and layer k > 0 reads P (or 2P).
    """
    check_cell(cell)
    if num_directions not in (1, 2):
        raise LayoutError(f"num_directions is {num_directions}, must be 1 or 2")
    if proj_size and cell != "lstm":
        raise LayoutError(
            f"{PROJECTION}_l0: a projection (proj_size) exists only for the standard lstm, "
            f"not for {cell}"
        )
    rows = GATE_ROWS[cell] * hidden_size
    out = proj_size or hidden_size  # the size of h
    shapes: dict[str, tuple[int, ...]] = {}
    for k in range(num_layers):
        d_in = input_size if k == 0 else out * num_directions
        for sfx in ("", REVERSE)[:num_directions]:
            shapes[f"weight_ih_l{k}{sfx}"] = (rows, d_in)
            shapes[f"weight_hh_l{k}{sfx}"] = (rows, out)
            shapes[f"bias_ih_l{k}{sfx}"] = (rows,)
            shapes[f"bias_hh_l{k}{sfx}"] = (rows,)
            if cell == "lstm_peephole":
                for name in PEEPHOLES:
                    shapes[f"{name}_l{k}{sfx}"] = (hidden_size,)
            if proj_size:
                shapes[f"{PROJECTION}_l{k}{sfx}"] = (proj_size, hidden_size)
    return shapes


def proj_size(params: Mapping[str, np.ndarray]) -> int:
    """P of an LSTM with a projection (it has weight_hr_l0 of shape (P, H)), else 0."""
    name = f"{PROJECTION}_l0"
    if name not in params or np.ndim(params[name]) < 1:
        return 0
    return int(np.shape(params[name])[0])


def output_size(params: Mapping[str, np.ndarray], hidden_size: int) -> int:
    """The number of units of h (and of h0, h_n): proj_size when there is one, else H."""
    return proj_size(params) or hidden_size


def num_directions(params: Mapping[str, np.ndarray]) -> int:
    """2 for a bidirectional parameter dict (it has weight_ih_l0_reverse), else 1."""
    return 2 if f"weight_ih_l0{REVERSE}" in params else 1


def forward_only(params: Mapping[str, np.ndarray], what: str) -> None:
    """Refuse a bidirectional model where only one direction makes sense (`what`)."""
    if num_directions(params) == 2:
        raise EngineError(
            f"{what} needs a one-directional model: a bidirectional layer's backward "
            "direction starts from the end of the sequence, so it cannot run step by step "
            "or through this BPTT; trace the whole sequence instead"
        )


def direction_params(
    params: Mapping[str, np.ndarray], layer: int, backward: bool
) -> Mapping[str, np.ndarray]:
    """Layer `layer`'s tensors of one direction under the forward names (weight_ih_l{k}...),
    so the one-directional cell loops run the backward direction unchanged."""
    if not backward:
        return params
    tail = f"_l{layer}{REVERSE}"
    named = {n[: -len(REVERSE)]: v for n, v in params.items() if n.endswith(tail)}
    cache = stack_cache(params)  # the same arrays: their prepared copies stay valid
    return named if cache is None else PreparedParams(named, cache)


def init_params(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    seed: int = 0,
    num_directions: int = 1,
    proj_size: int = 0,
) -> dict[str, np.ndarray]:
    """Random float64 weights drawn as PyTorch does, U(-1/sqrt(H), 1/sqrt(H)), from a seed.

    The values differ from torch's (another generator) but the distribution is the same.
    proj_size: see expected_shapes (0: no projection).
    """
    for name, value in (
        ("input_size", input_size),
        ("hidden_size", hidden_size),
        ("num_layers", num_layers),
    ):
        if value < 1:
            raise LayoutError(f"{name} is {value}, must be at least 1")
    bound = 1.0 / np.sqrt(hidden_size)
    rng = np.random.default_rng(seed)
    return {
        name: rng.uniform(-bound, bound, size=shape)
        for name, shape in expected_shapes(
            cell, input_size, hidden_size, num_layers, num_directions, proj_size
        ).items()
    }


def model_sizes(cell: str, params: Mapping[str, np.ndarray]) -> tuple[int, int, int]:
    """(input_size, hidden_size, num_layers) of a parameter dict, checking every tensor.

    Raises LayoutError naming the first missing, unexpected or misshapen tensor.
    """
    return check_layout(cell, params)


def check_layout(
    cell: str, params: Mapping[str, np.ndarray], label: str = ""
) -> tuple[int, int, int]:
    """model_sizes, with `label` put before every tensor name in messages (e.g. "lstm.")."""
    check_cell(cell)
    for name in ("weight_ih_l0", "weight_hh_l0"):
        if name not in params:
            raise LayoutError(f"missing tensor {label}{name}")
        if np.ndim(params[name]) != 2:
            raise LayoutError(
                f"{label}{name} has shape {np.shape(params[name])}, expected a 2-d matrix"
            )
    input_size = int(np.shape(params["weight_ih_l0"])[1])
    hidden_size = _hidden_size(cell, params)
    if input_size < 1 or hidden_size < 1:
        raise LayoutError(
            f"{label}weight_ih_l0 {np.shape(params['weight_ih_l0'])} and {label}weight_hh_l0 "
            f"{np.shape(params['weight_hh_l0'])} give an empty model"
        )
    num_layers = 1
    while f"weight_ih_l{num_layers}" in params:
        num_layers += 1
    directions = num_directions(params)
    proj = _check_projection(cell, params, hidden_size, label)
    expected = expected_shapes(cell, input_size, hidden_size, num_layers, directions, proj)
    for name, shape in expected.items():
        if name not in params:
            raise LayoutError(f"missing tensor {label}{name} (expected shape {shape}) for {cell}")
        got = tuple(np.shape(params[name]))
        if got != shape:
            hint = _cell_hint(cell, got, hidden_size)
            if proj and name.startswith("weight_hh") and got[:1] == shape[:1]:
                hint = f" (weight_hr_l0 makes proj_size {proj}, h's units: weight_hh's columns)"
            raise LayoutError(f"{label}{name} has shape {got}, expected {shape}{hint}")
    extra = sorted(set(params) - set(expected))
    if extra:
        both = " bidirectional" if directions == 2 else ""
        raise LayoutError(
            f"unexpected tensor {label}{extra[0]} for a {num_layers}-layer{both} {cell} "
            f"(hidden_size {hidden_size})"
        )
    return input_size, hidden_size, num_layers


def _check_projection(
    cell: str, params: Mapping[str, np.ndarray], hidden_size: int, label: str
) -> int:
    """proj_size of the params (0: none), refusing a weight_hr_l0 that cannot be one."""
    name = f"{PROJECTION}_l0"
    if name not in params:
        return 0
    shape: tuple[int, ...] = tuple(np.shape(params[name]))
    if cell != "lstm":
        raise LayoutError(
            f"{label}{name}: a projection (proj_size) exists only for the standard lstm, "
            f"not for {cell}"
        )
    if len(shape) != 2 or shape[1] != hidden_size:
        raise LayoutError(
            f"{label}{name} has shape {shape}, expected (proj_size, {hidden_size}) "
            f"(hidden_size {hidden_size})"
        )
    if not 0 < shape[0] < hidden_size:
        raise LayoutError(
            f"{label}{name} has shape {shape}: proj_size {shape[0]} must be between 1 and "
            f"hidden_size - 1 ({hidden_size - 1}), as in torch"
        )
    return int(shape[0])


def _hidden_size(cell: str, params: Mapping[str, np.ndarray]) -> int:
    """H as most of layer 0's tensors tell it (weight_hh's width, every tensor's rows / G), so
    that a misshapen tensor is the one blamed, not a sound one checked against it. With a
    projection weight_hh's width is P, and weight_hr_l0's width (H) votes instead."""
    G = GATE_ROWS[cell]
    width = int(np.shape(params["weight_hh_l0"])[1])
    hr = params.get(f"{PROJECTION}_l0")
    if hr is not None and np.ndim(hr) == 2:
        width = int(np.shape(hr)[1])
    rows = [
        int(np.shape(params[name])[0])
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
        if name in params and np.ndim(params[name]) >= 1
    ]
    if width and all(r % width == 0 for r in rows):
        return width  # consistent blocks of H rows (maybe another cell's count: see _cell_hint)
    votes = [width, *(r // G for r in rows if r and r % G == 0)]
    return max(votes, key=votes.count)  # ties: weight_hh's width, the first vote


def _cell_hint(cell: str, shape: tuple[int, ...], hidden_size: int) -> str:
    """' (the rows of a gru: is cell right?)' when the rows fit another cell's gate count."""
    if not shape or shape[0] % hidden_size or shape[0] // hidden_size == GATE_ROWS[cell]:
        return ""
    fits = [c for c, g in GATE_ROWS.items() if g == shape[0] // hidden_size]
    return f" ({' or '.join(fits)} rows: is cell right?)" if fits else ""
