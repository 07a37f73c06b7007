"""ONNX LSTM / GRU / RNN ops (as plain arrays) -> the engine's PyTorch layout.

ONNX stacks gates as i,o,f,c (LSTM) and z,r,h (GRU); W is (dirs, G*H, D), R (dirs, G*H, H),
B (dirs, 2*G*H) = [Wb, Rb], P (dirs, 3H) = peepholes i,o,f. The engine's rows are i,f,g,o
and r,z,n; the backward direction's tensors take the suffix "_reverse".
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from app.engine.errors import LayoutError
from app.engine.layouts_account import Converted
from app.engine.params import check_layout, num_directions
from app.engine.records import Readout

_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}  # engine block <- ONNX block
_ACTIVATIONS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"]}


def onnx_cell(op_type: str, attrs: Mapping[str, Any], peepholes: bool) -> str:
    """The engine cell of one ONNX op, refusing attributes the engine cannot do exactly."""
    acts = [str(a).lower() for a in attrs.get("activations", [])]
    for refused in ("clip", "activation_alpha", "activation_beta"):
        if refused in attrs:
            raise LayoutError(f"attribute {refused} is not supported")
    if attrs.get("input_forget", 0):
        raise LayoutError("attribute input_forget=1 (coupled gates) is not supported")
    if attrs.get("layout", 0):
        raise LayoutError("attribute layout=1 (batch-first tensors) is not supported")
    if op_type == "RNN":
        kinds = set(acts) or {"tanh"}
        if kinds == {"tanh"}:
            return "rnn_tanh"
        if kinds == {"relu"}:
            return "rnn_relu"
        raise LayoutError(f"activations {acts} are not supported (Tanh or Relu)")
    default = _ACTIVATIONS[op_type]
    if acts and acts not in (default, default * 2):
        raise LayoutError(f"activations {acts} are not supported (only {default})")
    if op_type == "GRU":
        if attrs.get("linear_before_reset", 0) != 1:
            raise LayoutError(
                "linear_before_reset=0 is a different GRU cell (the reset gate acts before "
                "R_h); Gatescope's GRU is torch's, linear_before_reset=1"
            )
        return "gru"
    return "lstm_peephole" if peepholes else "lstm"


def _blocks(a: np.ndarray, order: Sequence[int], h: int) -> np.ndarray:
    """Rows of `a` (G*H, ...) reordered block by block."""
    return np.concatenate([a[k * h : (k + 1) * h] for k in order], axis=0)


def _finite(label: str, a: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(a)):
        raise LayoutError(f"{label} holds NaN or infinite values")
    return a


def convert_onnx(
    ops: Sequence[Any], readout: tuple[np.ndarray, np.ndarray, list[str]] | None
) -> tuple[str, Converted]:
    """ONNX recurrent ops (app.store.onnx_reader.RecurrentOp: node, op_type, attrs, tensors)
    -> (cell, Converted). `used` says which initializer became which engine tensor."""
    params: dict[str, np.ndarray] = {}
    used: list[str] = []
    cells = []
    for k, op in enumerate(ops):
        where = f"node {op.node!r} ({op.op_type})"
        try:
            cell = onnx_cell(op.op_type, op.attrs, "P" in op.tensors)
        except LayoutError as exc:
            raise LayoutError(f"{where}: {exc}", "file") from exc
        cells.append(cell)
        direction = op.attrs.get("direction", "forward")
        if direction not in ("forward", "bidirectional"):
            raise LayoutError(
                f"{where}: direction {direction!r} is not supported (forward or bidirectional)",
                "file",
            )
        dirs = 2 if direction == "bidirectional" else 1
        for slot in ("W", "R"):
            if slot not in op.tensors:
                raise LayoutError(f"{where}: {slot} is missing", "file")
        w_name, w = op.tensors["W"]
        r_name, r = op.tensors["R"]
        gates = len(_ORDER[op.op_type])
        h = op.attrs.get("hidden_size", r.shape[-1] if r.ndim == 3 else 0)
        if not isinstance(h, int) or h < 1:
            raise LayoutError(f"{where}: hidden_size {h!r} is not a positive whole number", "file")
        if r.shape != (dirs, gates * h, h) or w.ndim != 3 or w.shape[:2] != (dirs, gates * h):
            raise LayoutError(
                f"{where}: W {w.shape} and R {r.shape} do not fit {dirs} "
                f"direction(s), {gates} gates, hidden_size {h}",
                "file",
            )
        b_name, b = op.tensors.get("B", ("", np.zeros((dirs, 2 * gates * h))))
        if b.shape != (dirs, 2 * gates * h):
            raise LayoutError(
                f"{where}: B has shape {b.shape}, expected {(dirs, 2 * gates * h)}", "file"
            )
        for slot in ("initial_h", "initial_c"):
            if slot in op.tensors and np.any(op.tensors[slot][1]):
                raise LayoutError(
                    f"{where}: a nonzero {slot} is not supported; the engine "
                    "starts every layer from zeros",
                    "file",
                )
        order = _ORDER[op.op_type]
        for d in range(dirs):
            sfx, which = ("", "forward") if d == 0 else ("_reverse", "backward")
            into = f"layer {k} {which}"
            params[f"weight_ih_l{k}{sfx}"] = _finite(w_name, _blocks(w[d], order, h))
            params[f"weight_hh_l{k}{sfx}"] = _finite(r_name, _blocks(r[d], order, h))
            bias = _finite(b_name or "B", b[d])
            params[f"bias_ih_l{k}{sfx}"] = _blocks(bias[: gates * h], order, h)
            params[f"bias_hh_l{k}{sfx}"] = _blocks(bias[gates * h :], order, h)
            used += [
                f"{w_name} ({where} W) -> weight_ih_l{k}{sfx} ({into})",
                f"{r_name} ({where} R) -> weight_hh_l{k}{sfx} ({into})",
            ]
            if b_name:
                used.append(f"{b_name} ({where} B) -> bias_ih_l{k}{sfx}, bias_hh_l{k}{sfx}")
            if "P" in op.tensors:
                p_name, p = op.tensors["P"]
                if p.shape != (dirs, 3 * h):
                    raise LayoutError(
                        f"{where}: P has shape {p.shape}, expected {(dirs, 3 * h)}", "file"
                    )
                pi, po, pf = _finite(p_name, p[d, :h]), p[d, h : 2 * h], p[d, 2 * h :]
                params[f"weight_ci_l{k}{sfx}"] = pi
                params[f"weight_cf_l{k}{sfx}"] = _finite(p_name, pf)
                params[f"weight_co_l{k}{sfx}"] = _finite(p_name, po)
                used.append(f"{p_name} ({where} P) -> weight_ci/cf/co_l{k}{sfx}")
    if len(set(cells)) != 1:
        raise LayoutError(f"the recurrent ops are of different kinds ({', '.join(cells)})", "file")
    cell = cells[0]
    _, hidden, _ = check_layout(cell, params)
    head = None
    if readout is not None:
        weight, bias, names = readout
        reads = hidden * num_directions(params)
        if weight.shape[1] != reads:
            raise LayoutError(
                f"the readout ({', '.join(names)}) reads {weight.shape[1]} "
                f"numbers, the last layer gives {reads}",
                "file",
            )
        head = Readout(_finite(names[0], weight.copy()), _finite(names[-1], bias.copy()))
        used.append(f"{', '.join(names)} (MatMul/Gemm + Add) -> readout.weight, readout.bias")
    return cell, Converted(params, head, used, {}, None)
