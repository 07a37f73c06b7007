"""PyTorch state_dict -> engine params (the engine's own layout is PyTorch's, unprefixed)."""

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.errors import LayoutError
from app.engine.params import check_layout, expected_shapes
from app.engine.records import Readout
from app.engine.spec import check_cell

_ANCHOR = "weight_ih_l0"
_PARAM = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh|weight_ci|weight_cf|weight_co)_l\d+")


def as_float64(name: str, value: Any) -> np.ndarray:
    """A tensor as a float64 array (float32 converts exactly); non-numbers, booleans and
    complex numbers (whose imaginary part a cast would drop) are refused."""
    kind = np.asarray(value).dtype.kind
    if kind in "bc":
        what = "booleans" if kind == "b" else "complex numbers"
        raise LayoutError(f"{name} holds {what}; weights must be real numbers")
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LayoutError(f"{name} is not a numeric tensor: {exc}") from exc


def _find_prefix(names: list[str]) -> str:
    found = sorted({n[: -len(_ANCHOR)] for n in names if n.endswith(_ANCHOR)})
    if not found:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise LayoutError(f"no tensor named {_ANCHOR} or <module>.{_ANCHOR}; got {shown}")
    if len(found) > 1:
        raise LayoutError(
            f"several recurrent modules ({', '.join(repr(p) for p in found)}); "
            "choose one with prefix"
        )
    return found[0]


def _readout(tensors: Mapping[str, np.ndarray], skip: str, hidden_size: int) -> Readout | None:
    """The one Linear (V, H) + bias outside the recurrent module, if there is exactly one."""
    found = []
    for name in tensors:
        if not name.endswith(".weight") or (skip and name.startswith(skip)):
            continue
        bias_name = name[: -len("weight")] + "bias"
        shape = np.shape(tensors[name])
        if bias_name in tensors and len(shape) == 2 and shape[1] == hidden_size:
            found.append((name, bias_name))
    if not found:
        return None
    if len(found) > 1:
        names = ", ".join(n for n, _ in found)
        raise LayoutError(f"several possible readout layers ({names}); keep only one")
    w_name, b_name = found[0]
    weight, bias = as_float64(w_name, tensors[w_name]), as_float64(b_name, tensors[b_name])
    if bias.shape != (weight.shape[0],):
        raise LayoutError(f"{b_name} has shape {bias.shape}, expected ({weight.shape[0]},)")
    return Readout(weight, bias)


def from_torch(
    cell: str, tensors: Mapping[str, Any], prefix: str | None = None
) -> tuple[dict[str, np.ndarray], Readout | None]:
    """A PyTorch state_dict (nn.LSTM / GRU / RNN, maybe inside a model) -> (params, readout).

    Names may carry a module prefix ("lstm.weight_ih_l0"); without `prefix` the one module
    holding weight_ih_l0 is found. A Linear "<name>.weight" (V, H) + "<name>.bias" outside it
    becomes the readout. Modules built with bias=False get zero biases. Bidirectional modules
    and LSTMs with proj_size are refused. Returns float64 copies.
    """
    check_cell(cell)
    names = list(tensors)
    if prefix is None:
        prefix = _find_prefix(names)
    elif prefix and not prefix.endswith("."):
        prefix += "."
    if f"{prefix}{_ANCHOR}_reverse" in tensors:
        raise LayoutError(f"{prefix}{_ANCHOR}_reverse: bidirectional modules are not supported")
    if f"{prefix}weight_hr_l0" in tensors:
        raise LayoutError(f"{prefix}weight_hr_l0: LSTMs with proj_size are not supported")
    params: dict[str, np.ndarray] = {}
    for name in names:
        if not name.startswith(prefix):
            continue
        local = name[len(prefix) :]
        if _PARAM.fullmatch(local):
            params[local] = as_float64(name, tensors[name])
        elif "." not in local:
            raise LayoutError(f"unexpected tensor {name} in a {cell} module")
    if _ANCHOR not in params:
        raise LayoutError(f"missing tensor {prefix}{_ANCHOR}")
    if not any(n.startswith("bias_") for n in params) and "weight_hh_l0" in params:
        # bias=False: PyTorch adds nothing, which is a zero bias.
        d, h = params[_ANCHOR].shape[-1], params["weight_hh_l0"].shape[-1]
        layers = sum(1 for n in params if n.startswith("weight_ih_l"))
        for name, shape in expected_shapes(cell, d, h, layers).items():
            if name.startswith("bias_"):
                params[name] = np.zeros(shape)
    _, hidden_size, _ = check_layout(cell, params, label=prefix)
    return params, _readout(tensors, prefix, hidden_size)
