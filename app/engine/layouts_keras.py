"""Keras weights <-> engine params (PyTorch layout).

Keras stores x @ kernel: kernel (D, G*H), recurrent_kernel (H, G*H), one bias (G*H,).
Gate order: LSTM i, f, c, o (c is PyTorch's g); GRU with reset_after=True z, r, h with
bias (2, 3H) = [input bias, recurrent bias]; SimpleRNN one block. Peephole weights use the
names of tf.keras.experimental.PeepholeLSTMCell (or TF1's w_i_diag, w_f_diag, w_o_diag);
the coupled LSTM, which Keras lacks, uses kernel (D, 3H) with blocks f, c, o.

Names are grouped by the path before the last component ("lstm/lstm_cell/kernel:0" ->
group "lstm/lstm_cell"); recurrent groups are ordered naturally (lstm, lstm_1, lstm_2, ...)
and give the layers; one group with only kernel (H, V) and bias (V,) is the readout (Dense).
"""

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.errors import LayoutError
from app.engine.layouts_torch import as_float64
from app.engine.params import model_sizes
from app.engine.records import Readout
from app.engine.spec import GATE_ROWS, check_cell

_PEEPHOLE_NAMES = {
    "input_gate_peephole_weights": "weight_ci",
    "forget_gate_peephole_weights": "weight_cf",
    "output_gate_peephole_weights": "weight_co",
    "w_i_diag": "weight_ci",
    "w_f_diag": "weight_cf",
    "w_o_diag": "weight_co",
}
_LEAVES = {"kernel", "recurrent_kernel", "bias", *_PEEPHOLE_NAMES}
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


def _natural(key: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key)]


def _groups(tensors: Mapping[str, Any], prefix: str) -> dict[str, dict[str, str]]:
    """group path -> leaf name -> full tensor name."""
    groups: dict[str, dict[str, str]] = {}
    for name in tensors:
        if not name.startswith(prefix):
            continue
        parts = re.split(r"[/.]", name[len(prefix) :].removesuffix(":0"))
        leaf = parts[-1]
        if leaf not in _LEAVES:
            continue
        path = [p for p in parts[:-1] if not p.endswith("cell")]
        groups.setdefault("/".join(path), {})[leaf] = name
    return groups


def from_keras(
    cell: str, tensors: Mapping[str, Any], prefix: str | None = None
) -> tuple[dict[str, np.ndarray], Readout | None]:
    """Keras-layout weights -> (params in PyTorch layout, readout or None). See module doc."""
    check_cell(cell)
    G = GATE_ROWS[cell]
    groups = _groups(tensors, prefix or "")
    layers = sorted((k for k, g in groups.items() if "recurrent_kernel" in g), key=_natural)
    if not layers:
        raise LayoutError("no recurrent_kernel tensor found; expected Keras RNN weights")
    params: dict[str, np.ndarray] = {}
    order = _gate_order(cell)
    d_in = -1
    for k, key in enumerate(layers):
        names = groups[key]
        rk_name = names["recurrent_kernel"]
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
        d_in = kernel.shape[0] if k == 0 and kernel.ndim == 2 else H
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
            for leaf, ours in _PEEPHOLE_NAMES.items():
                if leaf in names:
                    params[f"{ours}_l{k}"] = as_float64(names[leaf], tensors[names[leaf]])
    model_sizes(cell, params)
    return params, _keras_readout(tensors, groups, layers, params["weight_hh_l0"].shape[1])


def _keras_readout(
    tensors: Mapping[str, Any],
    groups: dict[str, dict[str, str]],
    layers: list[str],
    hidden_size: int,
) -> Readout | None:
    dense = [
        k
        for k, g in groups.items()
        if k not in layers and set(g) == {"kernel", "bias"} and np.ndim(tensors[g["kernel"]]) == 2
    ]
    dense = [k for k in dense if np.shape(tensors[groups[k]["kernel"]])[0] == hidden_size]
    if not dense:
        return None
    if len(dense) > 1:
        raise LayoutError(f"several possible readout layers ({', '.join(dense)}); keep only one")
    names = groups[dense[0]]
    kernel = as_float64(names["kernel"], tensors[names["kernel"]])
    bias = as_float64(names["bias"], tensors[names["bias"]])
    if bias.shape != (kernel.shape[1],):
        raise LayoutError(f"{names['bias']} has shape {bias.shape}, expected ({kernel.shape[1]},)")
    return Readout(kernel.T.copy(), bias)


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
