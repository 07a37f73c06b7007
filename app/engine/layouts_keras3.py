"""A Keras 3 model (its layers from app.engine.keras_config) -> engine params (PyTorch layout).

Before the recurrent layers only layers that change nothing at inference (Dropout, InputLayer)
and one Embedding (folded into weight_ih_l0 with the upload's vocabulary) may stand; between
them only the former; after them the first Dense is the readout (linear or softmax). A layer
that would change what the recurrence or readout sees (a Lambda, a custom class, any other) is
refused by name; layers after the readout are left out. Bidirectional(LSTM|GRU|SimpleRNN) with
merge_mode "concat" gives the _reverse tensors ([h_fwd, h_bwd], width 2H, as torch).
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.errors import LayoutError
from app.engine.keras_config import PASSIVE, RECURRENT, KerasLayer, owned
from app.engine.layouts_account import Converted, Reason, fold_embedding
from app.engine.layouts_keras import _gate_order, _permute
from app.engine.layouts_torch import as_float64
from app.engine.params import REVERSE, check_layout
from app.engine.records import Readout
from app.engine.spec import GATE_ROWS, check_cell

_CELL_OF = {"LSTM": ("lstm",), "GRU": ("gru",), "SimpleRNN": ("rnn_tanh", "rnn_relu")}


def _is_rnn(la: KerasLayer) -> bool:
    return la.kind in RECURRENT or la.kind == "Bidirectional"


def _refuse(la: KerasLayer, where: str) -> LayoutError:
    if la.kind == "Lambda":
        why = "a Lambda layer runs Python code, which Gatescope never runs"
    elif la.kind not in ("Dense", "Embedding", *RECURRENT):
        why = f"Gatescope cannot show what a {la.kind[:60]} layer does"
    else:
        why = f"a {la.kind} there is not part of what Gatescope traces"
    return LayoutError(f"layer {la.name} ({la.kind[:60]}) sits {where}: {why}", "file")


def _rnn_config(la: KerasLayer) -> tuple[str | None, Mapping[str, Any]]:
    """(the recurrent class, its config), checking a Bidirectional's merge mode and halves."""
    if la.kind != "Bidirectional":
        return la.kind, la.config
    merge = la.config.get("merge_mode", "concat")
    if merge != "concat":
        raise LayoutError(
            f"layer {la.name}: Bidirectional merge_mode {merge!r} is not supported; only "
            '"concat" ([h_fwd, h_bwd], what the engine traces) is read', "file"
        )  # fmt: skip
    inner = la.config.get("layer")
    back = la.config.get("backward_layer")
    inner_cfg = inner.get("config", {}) if isinstance(inner, Mapping) else {}
    if isinstance(back, Mapping) and back.get("class_name") != la.inner:
        raise LayoutError(
            f"layer {la.name}: its backward layer is a {back.get('class_name')}, its forward "
            f"one a {la.inner}; both directions must be the same kind of layer", "file"
        )  # fmt: skip
    if inner_cfg.get("go_backwards"):
        raise LayoutError(f"layer {la.name}: a forward layer with go_backwards is not read")
    return la.inner, inner_cfg


def _check_rnn(la: KerasLayer, cell: str, kind: str | None, cfg: Mapping[str, Any]) -> None:
    if kind is not None and kind not in _CELL_OF:
        raise _refuse(la, "among the recurrent layers")
    if kind is not None and cell not in _CELL_OF[kind]:
        want = " or ".join(_CELL_OF[kind])
        raise LayoutError(f"layer {la.name} is a {kind}: upload it with cell {want}", "cell")
    expect = "relu" if cell == "rnn_relu" else "tanh"
    act = cfg.get("activation", expect)  # a lone .weights.h5 has no config: the cell's own
    if act != expect:
        raise LayoutError(
            f"layer {la.name} has activation {act!r}; cell {cell} computes {expect}"
            + ("; upload with cell rnn_relu" if act == "relu" and kind == "SimpleRNN" else ""),
            "file",
        )
    rec = cfg.get("recurrent_activation", "sigmoid")
    if kind in ("LSTM", "GRU") and rec != "sigmoid":
        raise LayoutError(
            f"layer {la.name} has recurrent_activation {rec!r}; the engine's gates are sigmoids",
            "file",
        )
    if kind == "GRU" and cfg.get("reset_after", True) is not True:
        raise LayoutError(f"layer {la.name}: a GRU needs reset_after=True (Keras 3's default)")
    if la.kind != "Bidirectional" and cfg.get("go_backwards"):
        raise LayoutError(
            f"layer {la.name} has go_backwards=True; wrap it in Bidirectional or save it "
            "without", "file"
        )  # fmt: skip


def _direction(
    cell: str, la: KerasLayer, names: Mapping[str, str], d_in: int | None, tensors: Any
) -> tuple[dict[str, np.ndarray], int]:
    """One direction's four tensors (PyTorch layout) and its hidden size."""
    G, order = GATE_ROWS[cell], _gate_order(cell)
    for role in ("kernel", "recurrent_kernel"):
        if role not in names:
            raise LayoutError(f"layer {la.name}: its {role} is missing from the weights", "file")
    kernel = as_float64(names["kernel"], tensors[names["kernel"]])
    rk = as_float64(names["recurrent_kernel"], tensors[names["recurrent_kernel"]])
    if rk.ndim != 2 or rk.shape[1] != G * rk.shape[0]:
        raise LayoutError(
            f"{names['recurrent_kernel']} (layer {la.name}'s recurrent_kernel) has shape "
            f"{rk.shape}, expected (units, {G} * units) for {cell}", "file"
        )  # fmt: skip
    H = rk.shape[0]
    if kernel.ndim != 2 or kernel.shape[1] != G * H or (d_in and kernel.shape[0] != d_in):
        want = f"({d_in or 'inputs'}, {G * H})"
        raise LayoutError(
            f"{names['kernel']} (layer {la.name}'s kernel) has shape {kernel.shape}, expected "
            f"{want}", "file"
        )  # fmt: skip
    b_ih, b_hh = np.zeros(G * H), np.zeros(G * H)
    if "bias" in names:
        bias = as_float64(names["bias"], tensors[names["bias"]])
        want_b = (2, G * H) if cell == "gru" else (G * H,)
        if bias.shape != want_b:
            hint = " (a GRU needs reset_after=True)" if cell == "gru" else ""
            raise LayoutError(
                f"{names['bias']} (layer {la.name}'s bias) has shape {bias.shape}, expected "
                f"{want_b}{hint}", "file"
            )  # fmt: skip
        b_ih, b_hh = (bias[0], bias[1]) if cell == "gru" else (bias, b_hh)
    return {
        "weight_ih": _permute(kernel, order, H, axis=1).T.copy(),
        "weight_hh": _permute(rk, order, H, axis=1).T.copy(),
        "bias_ih": _permute(b_ih, order, H, axis=0),
        "bias_hh": _permute(b_hh, order, H, axis=0),
    }, H


def convert_keras_model(
    cell: str, layers: list[KerasLayer], tensors: Mapping[str, Any], vocab_size: int | None
) -> Converted:
    """The model's recurrent layers, embedding and Dense readout -> Converted; `roles` says for
    each tensor taken which Keras layer (and direction) it came from and what it became."""
    check_cell(cell)
    ks = [k for k, la in enumerate(layers) if _is_rnn(la)]
    if not ks:
        shown = ", ".join(f"{la.name} ({la.kind})" for la in layers[:10])
        raise LayoutError(f"no LSTM, GRU, SimpleRNN or Bidirectional layer in the model: {shown}")
    first, last = ks[0], ks[-1]
    embedding = None
    for la in layers[:first]:
        if la.kind == "Embedding" and embedding is None:
            embedding = la
        elif la.kind not in PASSIVE:
            raise _refuse(la, "before the recurrent layers")
    for la in layers[first:last]:
        if not _is_rnn(la) and la.kind not in PASSIVE:
            raise _refuse(la, "between the recurrent layers")
    rnns = [layers[k] for k in ks]
    if len({la.kind == "Bidirectional" for la in rnns}) > 1:
        raise LayoutError("the model mixes Bidirectional and one-directional recurrent layers")
    params: dict[str, np.ndarray] = {}
    roles: dict[str, dict[str, Any]] = {}
    d_in, width = None, 0
    for k, la in enumerate(rnns):
        kind, cfg = _rnn_config(la)
        _check_rnn(la, cell, kind, cfg)
        sizes = set()
        for direction, names in la.weights.items():
            got, H = _direction(cell, la, names, d_in, tensors)
            sizes.add(H)
            sfx = REVERSE if direction == "backward" else ""
            for role, tensor in names.items():
                became = {"kernel": "weight_ih", "recurrent_kernel": "weight_hh"}.get(role)
                made = [f"{became}_l{k}{sfx}"] if became else [f"bias_ih_l{k}{sfx}",
                                                              f"bias_hh_l{k}{sfx}"]  # fmt: skip
                roles[tensor] = {"keras_layer": la.name, "layer": k, "direction": direction,
                                 "became": made}  # fmt: skip
            params.update({f"{n}_l{k}{sfx}": v for n, v in got.items()})
        width = sizes.pop() * len(la.weights)
        d_in = width
    input_size, _, _ = check_layout(cell, params)
    readout, after = _readout(layers[last + 1 :], width, tensors, roles)
    folded = None
    if embedding is not None:
        folded = _fold(embedding, params, tensors, vocab_size, input_size)
        roles[folded] = {"keras_layer": embedding.name, "layer": None, "direction": None,
                         "became": ["weight_ih_l0 (folded in)"]}  # fmt: skip
    ignored = {
        n: after.get(n, Reason("unrelated", "not a layer's weight (optimizer state or other)"))
        for n in tensors
        if n not in roles
    }
    return Converted(params, readout, sorted(roles), ignored, folded, roles)


def _fold(
    la: KerasLayer, params: dict[str, np.ndarray], tensors: Any, V: int | None, D: int
) -> str:
    name = la.weights["forward"].get("embeddings")
    if name is None:
        raise LayoutError(f"layer {la.name} (Embedding): its embeddings are missing", "file")
    table = as_float64(name, tensors[name])
    if la.config.get("mask_zero"):
        raise LayoutError(
            f"layer {la.name} has mask_zero=True: token 0 skips steps, which is not traced"
        )
    if table.ndim != 2 or table.shape[1] != D:
        raise LayoutError(f"{name} has shape {table.shape}, expected (tokens, {D})", "file")
    if table.shape[0] != V:
        raise LayoutError(
            f"the model starts with Embedding {la.name} of {table.shape[0]} tokens: give its "
            f"{table.shape[0]} tokens as vocab (got {V if V is not None else 'none'})",
            "vocab",
        )
    fold_embedding(params, name, table)
    return name


def _readout(
    after: list[KerasLayer], width: int, tensors: Any, roles: dict[str, dict[str, Any]]
) -> tuple[Readout | None, dict[str, Reason]]:
    """The first Dense after the recurrent layers, when nothing that matters stands before it;
    the reasons for the tensors of the other layers."""
    reasons: dict[str, Reason] = {}
    readout = None
    for j, la in enumerate(after):
        if la.kind in PASSIVE:
            continue
        if la.kind != "Dense":
            if la.kind == "Lambda" or la.kind not in _KNOWN:
                raise _refuse(la, "between the recurrent layers and the readout")
            why = Reason("unrelated", f"{la.name} ({la.kind}) stands before any Dense readout")
            reasons.update({n: why for n in owned(after[j:])})
            break
        act = la.config.get("activation", "linear")
        names = la.weights["forward"]
        if act not in ("linear", "softmax") or "kernel" not in names:
            why = Reason("possible_readout", f"Dense {la.name} has activation {act!r}, not a "
                         "readout (linear or softmax): none is taken")  # fmt: skip
            reasons.update({n: why for n in owned(after[j:])})
            break
        kernel = as_float64(names["kernel"], tensors[names["kernel"]])
        if kernel.ndim != 2 or kernel.shape[0] != width:
            raise LayoutError(
                f"{names['kernel']} (Dense {la.name}'s kernel) has shape {kernel.shape}, "
                f"expected ({width}, classes)", "file"
            )  # fmt: skip
        bias = np.zeros(kernel.shape[1])
        if "bias" in names:
            bias = as_float64(names["bias"], tensors[names["bias"]])
        readout = Readout(kernel.T.copy(), bias)
        for role, tensor in names.items():
            roles[tensor] = {
                "keras_layer": la.name,
                "layer": None,
                "direction": None,
                "became": [f"readout.{'weight' if role == 'kernel' else 'bias'}"],
            }
        why = Reason("unrelated", f"a layer after the readout ({la.name})")
        reasons.update({n: why for n in owned(after[j + 1 :])})
        break
    return readout, reasons


_KNOWN = frozenset({"Dense", "Embedding", "LayerNormalization", "BatchNormalization",
                    "Activation", "TimeDistributed", "Flatten", "Reshape", "Masking",
                    "GlobalAveragePooling1D", "GlobalMaxPooling1D", "RepeatVector",
                    "Softmax", "Conv1D", *RECURRENT, "Bidirectional"})  # fmt: skip


def convert_keras_file(
    cell: str,
    config: Any,
    tensors: Mapping[str, Any],
    attrs: Mapping[str, Mapping[str, Any]],
    vocab_size: int | None,
    legacy: bool = False,
) -> Converted:
    """A .keras file (config: its config.json), a lone .weights.h5 (config None) or a Keras 2
    style .h5 full model (its model_config attribute as config, legacy True) -> Converted."""
    from app.engine.keras_config import config_layers, legacy_layers, weights_file_layers

    if legacy:
        layers = legacy_layers(config, tensors, attrs)
    elif config is None:
        layers = weights_file_layers(tensors)
    else:
        layers = config_layers(config, tensors)
    return convert_keras_model(cell, layers, tensors, vocab_size)
