"""Keras weights <-> engine params (PyTorch layout).

Keras stores x @ kernel: kernel (D, G*H), recurrent_kernel (H, G*H), one bias (G*H,).
Gate order: LSTM i, f, c, o (c is PyTorch's g); GRU with reset_after=True z, r, h with
bias (2, 3H) = [input bias, recurrent bias]; SimpleRNN one block. Peephole weights use the
names of tf.keras.experimental.PeepholeLSTMCell (or TF1's w_i_diag, w_f_diag, w_o_diag);
the coupled LSTM, which Keras lacks, uses kernel (D, 3H) with blocks f, c, o.

Names are grouped by the path before the last component, without cell components
("lstm/lstm_cell/kernel:0" -> group "lstm") unless dropping them would merge the stacked
cells of one layer (rnn/lstm_cell, rnn/lstm_cell_1); a prefix matches whole components ("m1"
takes "m1/..." or "m1.", not "m10/..."). Groups with a recurrent_kernel are the layers. Several
layers are taken only when their names tell the order: one base with Keras's numeric suffix
(lstm, lstm_1, lstm_2, ...; "sequential/gru", "sequential/gru_1"; an h5 file's repeated
"lstm_1/lstm_1" counts as one name). Bidirectional wrappers are refused. The other groups
(a Dense readout, an Embedding) are settled by app.engine.layouts_account.
"""

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.errors import LayoutError
from app.engine.layouts_account import Converted, Outside, outside, settle, take
from app.engine.layouts_torch import as_float64
from app.engine.params import model_sizes
from app.engine.records import Readout
from app.engine.spec import GATE_ROWS, PEEPHOLES, check_cell

_PEEPHOLE_NAMES = {
    "input_gate_peephole_weights": "weight_ci",
    "forget_gate_peephole_weights": "weight_cf",
    "output_gate_peephole_weights": "weight_co",
    "w_i_diag": "weight_ci",
    "w_f_diag": "weight_cf",
    "w_o_diag": "weight_co",
}
_LEAVES = {"kernel", "recurrent_kernel", "bias", *_PEEPHOLE_NAMES}
_CELL_PART = re.compile(r".*cell(_\d+)?")  # lstm_cell, lstm_cell_1, peephole_lstm_cell, ...
_BIDIRECTIONAL = re.compile(r"bidirectional(_\d+)?|forward_.*|backward_.*")
_BASE = {
    "lstm": "lstm",
    "lstm_peephole": "peephole_lstm",
    "lstm_coupled": "coupled_lstm",
    "gru": "gru",
    "rnn_tanh": "simple_rnn",
    "rnn_relu": "simple_rnn",
}


def _gate_order(cell: str) -> tuple[int, ...]:
    """Keras block j holds PyTorch block order[j]'s source: torch block k = keras block p[k]."""
    return (1, 0, 2) if cell == "gru" else tuple(range(GATE_ROWS[cell]))


def _permute(w: np.ndarray, order: tuple[int, ...], H: int, axis: int) -> np.ndarray:
    blocks = [np.take(w, range(j * H, (j + 1) * H), axis=axis) for j in order]
    return np.concatenate(blocks, axis=axis)


def _under(name: str, prefix: str) -> str | None:
    """`name` without `prefix`, or None when it is not under it (whole components only)."""
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix) :]
    if not prefix or prefix.endswith(("/", ".")):
        return rest
    return rest[1:] if rest[:1] in ("/", ".") else None


def _split(locals_: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """group path -> leaf -> full name, for full name -> name under the prefix. Cell parts
    (lstm_cell, lstm_cell_1) leave a path unless that would merge two groups: the stacked
    cells of one RNN layer (rnn/lstm_cell, rnn/lstm_cell_1) are two layers."""
    split = {}
    for name, local in locals_.items():
        parts = re.split(r"[/.]", local.removesuffix(":0"))
        short = "/".join(p for p in parts[:-1] if not _CELL_PART.fullmatch(p))
        split[name] = ("/".join(parts[:-1]), short, parts[-1])
    paths: dict[str, set[str]] = {}
    for path, short, _ in split.values():
        paths.setdefault(short, set()).add(path)
    groups: dict[str, dict[str, str]] = {}
    for name, (path, short, leaf) in split.items():
        groups.setdefault(short if len(paths[short]) == 1 else path, {})[leaf] = name
    return groups


def _groups(tensors: Mapping[str, Any], prefix: str) -> dict[str, dict[str, str]]:
    """The recurrent layers' groups under `prefix`: group path -> leaf -> full tensor name."""
    locals_ = {n: _under(n, prefix) for n in tensors}
    return _split({n: loc for n, loc in locals_.items() if loc is not None
                   and re.split(r"[/.]", loc.removesuffix(":0"))[-1] in _LEAVES})  # fmt: skip


def _numbered(part: str) -> tuple[str, int]:
    """Keras's unique-name suffix: "lstm_2" -> ("lstm", 2), "lstm" -> ("lstm", 0)."""
    m = re.fullmatch(r"(.+)_(\d+)", part)
    return (m[1], int(m[2])) if m else (part, 0)


def _layers(
    tensors: Mapping[str, Any], groups: dict[str, dict[str, str]], prefix: str
) -> list[str]:
    """The recurrent groups in model order; refuses what the names cannot order or map."""
    layers = [k for k, g in groups.items() if "recurrent_kernel" in g]
    if not layers:
        msg = "no recurrent_kernel tensor found; expected Keras RNN weights"
        torch = [n for n in tensors if n.endswith("weight_ih_l0")]
        if torch:
            msg += f"; {torch[0]} looks like a PyTorch state_dict name: use layout torch"
            raise LayoutError(msg)
        found = [k for k, g in _groups(tensors, "").items() if "recurrent_kernel" in g]
        if prefix and found:
            shown = ", ".join(found[:8]) + (", ..." if len(found) > 8 else "")
            msg = f"no recurrent_kernel tensor under prefix {prefix!r}; layers found: {shown}"
            raise LayoutError(msg, field="prefix")
        raise LayoutError(msg)
    for key in layers:
        rk_name = groups[key]["recurrent_kernel"]
        if any(_BIDIRECTIONAL.fullmatch(p) for p in re.split(r"[/.]", rk_name)[:-1]):
            raise LayoutError(f"{rk_name}: bidirectional layers are not supported")
    if len(layers) == 1:
        return layers
    # One name up to Keras's numeric suffix: the last component, and any other that differs
    # between groups, must be the same name in each group (model_weights/lstm_1/lstm_1).
    parsed = [[_numbered(p) for p in k.split("/")] for k in layers]
    index: dict[str, int] = {}
    if len({tuple(b for b, _ in p) for p in parsed}) == 1:
        varying = [j for j in range(len(parsed[0])) if len({p[j] for p in parsed}) > 1]
        for key, p in zip(layers, parsed, strict=True):
            if varying[-1:] == [len(p) - 1] and len({p[j] for j in varying}) == 1:
                index[key] = p[-1][1]
    if len(set(index.values())) < len(layers):
        shown = ", ".join(k or "(top level)" for k in layers)
        raise LayoutError(
            f"{len(layers)} recurrent layers ({shown}) whose names do not tell their order; "
            "upload one layer with prefix, or name the layers base, base_1, base_2, ... "
            "in model order"
        )
    return sorted(layers, key=index.__getitem__)


def _sibling(rk_name: str, leaf: str) -> str:
    """The name `leaf` would have next to a recurrent_kernel tensor."""
    head, _, tail = rk_name.rpartition("recurrent_kernel")
    return head + leaf + tail


def _recurrent(
    cell: str, tensors: Mapping[str, Any], prefix: str
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, str]], list[str]]:
    """(params in PyTorch layout, groups, the recurrent groups in model order)."""
    check_cell(cell)
    G = GATE_ROWS[cell]
    groups = _groups(tensors, prefix)
    layers = _layers(tensors, groups, prefix)
    params: dict[str, np.ndarray] = {}
    order = _gate_order(cell)
    first_rows = -1
    for k, key in enumerate(layers):
        names = groups[key]
        rk_name = names["recurrent_kernel"]
        peep = [names[leaf] for leaf in _PEEPHOLE_NAMES if leaf in names]
        if peep and cell != "lstm_peephole":
            raise LayoutError(
                f"{peep[0]} is a peephole LSTM's weight; upload with cell lstm_peephole"
            )
        rk = as_float64(rk_name, tensors[rk_name])
        if rk.ndim != 2 or rk.shape[1] != G * rk.shape[0]:
            raise LayoutError(
                f"{rk_name} has shape {rk.shape}, expected (units, {G} * units) for {cell}"
            )
        H = rk.shape[0]
        if "kernel" not in names:
            raise LayoutError(f"missing tensor kernel next to {rk_name}")
        kn_name = names["kernel"]
        kernel = as_float64(kn_name, tensors[kn_name])
        rows = kernel.shape[0] if kernel.ndim == 2 else -1
        first_rows = rows if k == 0 else first_rows
        d_in = rows if k == 0 and rows >= 0 else H
        if kernel.shape != (d_in, G * H) and first_rows == H and kernel.shape[1:] == (G * H,):
            raise LayoutError(
                f"{kn_name} has {rows} rows, like a first layer's input, but is layer {k}; "
                f"layer 0's kernel {groups[layers[0]]['kernel']} has {H} rows (the units): "
                f"the layers seem out of order (taken as {', '.join(layers)})"
            )
        if kernel.shape != (d_in, G * H):
            raise LayoutError(f"{kn_name} has shape {kernel.shape}, expected ({d_in}, {G * H})")
        params[f"weight_ih_l{k}"] = _permute(kernel, order, H, axis=1).T.copy()
        params[f"weight_hh_l{k}"] = _permute(rk, order, H, axis=1).T.copy()
        b_ih, b_hh = np.zeros(G * H), np.zeros(G * H)
        if "bias" in names:
            b_name = names["bias"]
            bias = as_float64(b_name, tensors[b_name])
            want = (2, G * H) if cell == "gru" else (G * H,)
            if bias.shape != want:
                hint = " (a GRU needs reset_after=True)" if cell == "gru" else ""
                raise LayoutError(f"{b_name} has shape {bias.shape}, expected {want}{hint}")
            b_ih, b_hh = (bias[0], bias[1]) if cell == "gru" else (bias, b_hh)
        params[f"bias_ih_l{k}"] = _permute(b_ih, order, H, axis=0)
        params[f"bias_hh_l{k}"] = _permute(b_hh, order, H, axis=0)
        if cell == "lstm_peephole":
            leaves = list(_PEEPHOLE_NAMES)  # Keras's three, then TF1's three
            tf1 = any(leaf in names for leaf in leaves[3:])
            for j, ours in enumerate(PEEPHOLES):
                have = [leaf for leaf in leaves[j::3] if leaf in names]
                if not have:
                    missing = _sibling(rk_name, leaves[j + 3 if tf1 else j])
                    raise LayoutError(
                        f"missing tensor {missing} (expected shape ({H},)) for {cell}"
                    )
                leaf = have[0]
                value = as_float64(names[leaf], tensors[names[leaf]])
                if value.shape != (H,):
                    raise LayoutError(f"{names[leaf]} has shape {value.shape}, expected ({H},)")
                params[f"{ours}_l{k}"] = value
    return params, groups, layers


def convert_keras(
    cell: str, tensors: Mapping[str, Any], prefix: str | None = None, vocab_size: int | None = None
) -> Converted:
    """Keras-layout weights -> Converted (params in PyTorch layout). See the module doc; the
    other layers are settled by app.engine.layouts_account ("." as prefix: the whole file)."""
    prefix = "" if prefix in (None, ".") else prefix
    params, groups, layers = _recurrent(cell, tensors, prefix)
    input_size, hidden_size, _ = model_sizes(cell, params)
    taken = {name for key in layers for name in groups[key].values()}
    others = {
        name: repr(key)
        for key, group in _groups(tensors, "").items()
        if "recurrent_kernel" in group
        for name in group.values()
        if name not in taken
    }
    rest = [n for n in tensors if n not in taken and n not in others]
    account = settle(_outside(rest, tensors), input_size, hidden_size, vocab_size, others)

    def read(name: str) -> np.ndarray:
        return as_float64(name, tensors[name])

    def dense(names: tuple[str, ...]) -> Readout:
        k_name, b_name = sorted(names, key=lambda n: _leaf(n) != "kernel")  # kernel, bias
        return Readout(read(k_name).T.copy(), read(b_name))  # kernel is (H, V)

    readout, folded, more = take(account, params, read, dense)
    taken.update(more)
    ignored = {n: account.ignored[n] for n in sorted(account.ignored)}
    return Converted(params, readout, sorted(taken), ignored, folded)


def from_keras(
    cell: str, tensors: Mapping[str, Any], prefix: str | None = None
) -> tuple[dict[str, np.ndarray], Readout | None]:
    """convert_keras's params and readout (no vocabulary, so no embedding is folded)."""
    converted = convert_keras(cell, tensors, prefix)
    return converted.params, converted.readout


def _leaf(name: str) -> str:
    return re.split(r"[/.]", name.removesuffix(":0"))[-1]


def _outside(names: list[str], tensors: Mapping[str, Any]) -> list[Outside]:
    """The file's other layers by group path: a Dense (kernel (in, out) + bias) is "linear"
    with shape (out, in), one without its bias "bare"; an Embedding's embeddings (V, D) is a
    "table"; anything else "other"."""
    layers = []
    for path, leaves in _split({n: n for n in names}).items():
        label, members = path or "(top level)", tuple(leaves.values())
        shapes = {leaf: tuple(np.shape(tensors[n])) for leaf, n in leaves.items()}
        kernel, bias = shapes.get("kernel", ()), shapes.get("bias")
        sizes = tuple(int(shape[0]) for shape in shapes.values() if len(shape) == 1)
        if len(kernel) == 2 and bias == kernel[1:] and len(leaves) == 2:
            layers.append(outside(label, "linear", (kernel[1], kernel[0]), members))
        elif len(kernel) == 2 and len(leaves) == 1:
            layers.append(outside(label, "bare", (kernel[1], kernel[0]), members))
        elif len(table := shapes.get("embeddings", ())) == 2 and len(leaves) == 1:
            layers.append(outside(label, "table", (table[0], table[1]), members, embedding=True))
        else:
            layers.append(outside(label, "other", None, members, sizes))
    return layers


def to_keras(
    cell: str,
    params: Mapping[str, np.ndarray],
    readout: Readout | None = None,
    prefix: str = "",
) -> dict[str, np.ndarray]:
    """Engine params -> Keras names and layout ("lstm/kernel", "lstm_1/kernel", "dense/...").

    Keras has one bias per gate row, so b_ih + b_hh are summed (the GRU keeps both).
    """
    _, H, L = model_sizes(cell, params)
    order = _gate_order(cell)  # the permutation is its own inverse for every cell
    out: dict[str, np.ndarray] = {}
    for k in range(L):
        base = f"{prefix}{_BASE[cell]}" + (f"_{k}" if k else "")
        w_ih, w_hh = (
            np.asarray(params[f"weight_{s}_l{k}"], dtype=np.float64) for s in ("ih", "hh")
        )
        b_ih, b_hh = (np.asarray(params[f"bias_{s}_l{k}"], dtype=np.float64) for s in ("ih", "hh"))
        out[f"{base}/kernel"] = _permute(w_ih.T, order, H, axis=1)
        out[f"{base}/recurrent_kernel"] = _permute(w_hh.T, order, H, axis=1)
        if cell == "gru":
            out[f"{base}/bias"] = np.stack(
                [_permute(b_ih, order, H, axis=0), _permute(b_hh, order, H, axis=0)]
            )
        else:
            out[f"{base}/bias"] = _permute(b_ih + b_hh, order, H, axis=0)
        if cell == "lstm_peephole":
            for leaf, ours in list(_PEEPHOLE_NAMES.items())[:3]:
                out[f"{base}/{leaf}"] = np.asarray(params[f"{ours}_l{k}"], dtype=np.float64)
    if readout is not None:
        out[f"{prefix}dense/kernel"] = np.asarray(readout.weight, dtype=np.float64).T.copy()
        out[f"{prefix}dense/bias"] = np.asarray(readout.bias, dtype=np.float64).copy()
    return out
