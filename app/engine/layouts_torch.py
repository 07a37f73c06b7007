"""PyTorch state_dict -> engine params (the engine's own layout is PyTorch's, unprefixed)."""

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.errors import LayoutError
from app.engine.layouts_account import Converted, Outside, outside, settle, take
from app.engine.params import check_layout, expected_shapes, num_directions, output_size, proj_size
from app.engine.records import Readout
from app.engine.spec import check_cell

_ANCHOR = "weight_ih_l0"
_PARAM = re.compile(
    r"(weight_ih|weight_hh|bias_ih|bias_hh|weight_ci|weight_cf|weight_co|weight_hr)_l\d+(_reverse)?"
)
_ANY_PARAM = re.compile(
    r"(weight_ih|weight_hh|bias_ih|bias_hh|weight_ci|weight_cf|weight_co|weight_hr)(_l\d+)?"
)


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


def _modules(names: list[str]) -> list[str]:
    """The prefixes of every recurrent module: "" for one at the top level, else "<path>."."""
    return sorted({n[: -len(_ANCHOR)] for n in names if n.endswith(_ANCHOR)})


def _find_prefix(names: list[str]) -> str:
    found = _modules(names)
    if not found:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        hint = "; these look like Keras names: use layout keras" if _looks_keras(names) else ""
        raise LayoutError(f"no tensor named {_ANCHOR} or <module>.{_ANCHOR}; got {shown}{hint}")
    if len(found) > 1:
        raise LayoutError(
            f"several recurrent modules ({', '.join(repr(p) for p in found)}); "
            "choose one with prefix ('.' for the one at the top level)",
            "prefix",
        )
    return found[0]


def _looks_keras(names: list[str]) -> bool:
    return any(re.search(r"(^|[/.])recurrent_kernel(:0)?$", n) for n in names)


def _cell_style(tensors: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """nn.LSTMCell / GRUCell / RNNCell names (weight_ih, ...) as layer 0's (weight_ih_l0, ...)
    when the file has no layer names; returns the tensors and new name -> name in the file."""
    if any(n.endswith(_ANCHOR) for n in tensors) or not any(
        n.rpartition(".")[2] == "weight_ih" for n in tensors
    ):
        return dict(tensors), {}
    renamed: dict[str, Any] = {}
    original: dict[str, str] = {}
    for name, value in tensors.items():
        path, dot, leaf = name.rpartition(".")
        new = (
            f"{path}{dot}{leaf}_l0"
            if leaf in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            else name
        )
        renamed[new] = value
        original[new] = name
    return renamed, original


def _layers(names: list[str], tensors: Mapping[str, Any]) -> list[Outside]:
    """The file's other modules ("fc.weight", "fc.bias" -> module "fc") as Outside layers:
    weight and bias alone are "linear", a weight alone a "table", anything else "other"."""
    modules: dict[str, list[str]] = {}
    for name in names:
        modules.setdefault(name.rpartition(".")[0], []).append(name)
    layers = []
    for module, members in modules.items():
        label, dot = module or "(top level)", "." if module else ""
        w_name, b_name = f"{module}{dot}weight", f"{module}{dot}bias"
        w_shape: tuple[int, ...] = np.shape(tensors[w_name]) if w_name in members else ()
        b_shape = np.shape(tensors[b_name]) if b_name in members else None
        sizes = tuple(int(np.shape(tensors[n])[0]) for n in members if np.ndim(tensors[n]) == 1)
        shape = (w_shape[0], w_shape[1]) if len(w_shape) == 2 else None
        if shape and b_shape == shape[:1] and len(members) == 2:
            layers.append(outside(label, "linear", shape, tuple(members)))
        elif shape and len(members) == 1:
            layers.append(outside(label, "table", shape, tuple(members)))
        else:
            layers.append(outside(label, "other", None, tuple(members), sizes))
    return layers


def _other_rnns(outside_names: list[str], names: list[str], prefix: str) -> dict[str, str]:
    """Tensors of recurrent modules other than the one at `prefix` (layered or cell-style)."""
    modules = set(_modules(names)) | {
        n[: -len("weight_ih")] for n in names if n.endswith("weight_ih")
    }
    return {
        n: repr(p) for n in outside_names for p in sorted(modules)
        if p != prefix and n.startswith(p) and _ANY_PARAM.fullmatch(n[len(p) :])
    }  # fmt: skip


def convert_torch(
    cell: str, tensors: Mapping[str, Any], prefix: str | None = None, vocab_size: int | None = None
) -> Converted:
    """A PyTorch state_dict (nn.LSTM / GRU / RNN, maybe inside a model) -> Converted.

    Names may carry a module prefix ("lstm.weight_ih_l0"); without `prefix` the one module
    holding weight_ih_l0 is found ("." picks the one at the top level). nn.LSTMCell-style
    names (weight_ih, ...) are read as layer 0. Modules built with bias=False get zero biases.
    Bidirectional modules keep torch's "_reverse" tensors (their readout reads 2H); LSTMs with
    proj_size keep weight_hr_l{k}, the projection h = W_hr (o * tanh(c)) (their h, and so
    the readout, has proj_size units). The other modules are settled by
    app.engine.layouts_account: a Linear "<name>.weight" (V, H or 2H) + "<name>.bias" may
    become the readout, an embedding (V, D) is folded in when `vocab_size` is V. Returns
    float64 copies.
    """
    check_cell(cell)
    tensors, original = _cell_style(tensors)
    names = list(tensors)
    if prefix is None:
        prefix = _find_prefix(names)
    elif prefix == ".":
        prefix = ""
    elif prefix and not prefix.endswith("."):
        prefix += "."
    params: dict[str, np.ndarray] = {}
    used, outside = [], []
    for name in names:
        local = name[len(prefix) :] if name.startswith(prefix) else "."
        if _PARAM.fullmatch(local):
            params[local] = as_float64(name, tensors[name])
            used.append(name)
        elif "." not in local:
            raise LayoutError(f"unexpected tensor {name} in a {cell} module")
        else:
            outside.append(name)
    if _ANCHOR not in params:
        raise LayoutError(f"missing tensor {prefix}{_ANCHOR}", "prefix" if prefix else None)
    matrices = all(n in params and params[n].ndim == 2 for n in (_ANCHOR, "weight_hh_l0"))
    if not any(n.startswith("bias_") for n in params) and matrices:  # else check_layout refuses
        # bias=False: PyTorch adds nothing, which is a zero bias.
        d, h = params[_ANCHOR].shape[-1], params["weight_hh_l0"].shape[-1]
        hr = params.get("weight_hr_l0")
        h = hr.shape[-1] if hr is not None and hr.ndim == 2 else h  # proj: weight_hh is (4H, P)
        dirs = num_directions(params)
        layers = sum(1 for n in params if n.startswith("weight_ih_l") and "_reverse" not in n)
        shapes = expected_shapes(
            cell, d, h, layers, dirs, proj_size(params) if hr is not None else 0
        )
        for name, shape in shapes.items():
            if name.startswith("bias_"):
                params[name] = np.zeros(shape)
    input_size, hidden_size, _ = check_layout(cell, params, label=prefix)
    others = _other_rnns(outside, names, prefix)
    rest = [n for n in outside if n not in others]
    reads = output_size(params, hidden_size) * num_directions(params)  # what a readout sees
    account = settle(_layers(rest, tensors), input_size, reads, vocab_size, others)

    def read(name: str) -> np.ndarray:
        return as_float64(name, tensors[name])

    def linear(names: tuple[str, ...]) -> Readout:
        w_name, b_name = sorted(names, reverse=True)  # weight, bias
        return Readout(read(w_name), read(b_name))

    readout, folded, taken = take(account, params, read, linear)
    used += taken
    return Converted(
        params,
        readout,
        sorted(original.get(n, n) for n in used),
        {original.get(n, n): account.ignored[n] for n in sorted(account.ignored)},
        folded,
        _roles(params, prefix, tensors) if proj_size(params) else {},
    )


_ROLES = {
    "weight_ih": "input",
    "weight_hh": "recurrent",
    "bias_ih": "bias",
    "bias_hh": "bias",
    "weight_hr": "projection",
}


def _roles(
    params: Mapping[str, np.ndarray], prefix: str, tensors: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """What each recurrent tensor of a module with a projection is: weight_hr_l{k} becomes
    the projection h = W_hr (o * tanh(c)) (the upload answer's tensor_roles)."""
    roles: dict[str, dict[str, Any]] = {}
    for name in params:
        match = re.fullmatch(r"([a-z_]+)_l(\d+)(_reverse)?", name)
        if match is None or f"{prefix}{name}" not in tensors:  # (zero biases of bias=False)
            continue
        roles[f"{prefix}{name}"] = {
            "layer": int(match[2]),
            "direction": "backward" if match[3] else "forward",
            "role": _ROLES.get(match[1], match[1]),
            "became": [name],
        }
    return roles


def from_torch(
    cell: str, tensors: Mapping[str, Any], prefix: str | None = None
) -> tuple[dict[str, np.ndarray], Readout | None]:
    """convert_torch's params and readout (no vocabulary, so no embedding is folded)."""
    converted = convert_torch(cell, tensors, prefix)
    return converted.params, converted.readout
