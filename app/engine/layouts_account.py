"""What the tensors around a recurrent module are: the embedding before it, the readout after
it, and everything left out, each with its reason. Shared by the PyTorch and Keras layouts.

A weight file does not record how its layers connect, so nothing is taken on a guess:
- The readout is the one layer with a bias that reads h (weight (V, H)), taken only when no
  other layer may read its V outputs or change them (a head of several layers, a norm of V),
  no tensor of H numbers may change h before it (a norm over h), and the file holds no other
  recurrent module.
- The embedding is a bias-free (V, D) table, D the RNN's input size, folded into the first
  layer when the upload's vocabulary has V tokens: with x the one-hot token,
  W_ih (E^T x) = (W_ih E^T) x, so the model takes one-hot tokens like every model with a
  vocabulary. It is folded only when nothing may sit between it and the RNN (a norm of D, a
  layer mapping to or from D). When D == H a bias-free table may as well be a readout without
  its bias, so only a layer named like an embedding (emb, encoder, wte, tok) is taken.
A vocabulary that neither fits the RNN's inputs nor an embedding is refused with the reason.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.engine.errors import LayoutError
from app.engine.records import Readout

_EMBEDDING_NAME = re.compile(r"emb|encoder|wte|tok|lookup", re.IGNORECASE)


@dataclass(frozen=True)
class Outside:
    """A layer outside the recurrent module, told apart by its tensors' shapes.

    kind "linear": a weight read as (out, in) with a bias of `out` numbers; "table": a lone
    2-d weight (rows, width) that may be an embedding (rows = tokens) or a bias-free linear
    layer (out, in); "bare": a bias-free linear layer (out, in) that is no embedding (Keras
    names them apart); "other": anything else (norms, buffers). `tensors`: its names.
    """

    name: str
    kind: str
    shape: tuple[int, int] | None
    tensors: tuple[str, ...]
    vector_sizes: tuple[int, ...] = ()  # lengths of the layer's 1-d tensors
    embedding_named: bool = False  # Keras's embeddings, or a name like emb / encoder / wte


def outside(
    name: str, kind: str, shape: tuple[int, int] | None, tensors: tuple[str, ...],
    sizes: tuple[int, ...] = (), embedding: bool = False,
) -> Outside:  # fmt: skip
    """An Outside whose name may tell an embedding (emb, encoder, wte, tok, lookup)."""
    named = embedding or bool(_EMBEDDING_NAME.search(name))
    return Outside(name, kind, shape, tensors, sizes, named)


class Reason(str):
    """Why a tensor was left out: its English text, and a `code` that pages translate
    (other_rnn, possible_readout, possible_embedding, several_embeddings, before_rnn,
    no_bias, unrelated)."""

    code: str

    def __new__(cls, code: str, text: str) -> "Reason":
        reason = super().__new__(cls, text)
        reason.code = code
        return reason


@dataclass
class Converted:
    """Weights in the engine's layout, and an account of the file's tensors by their names."""

    params: dict[str, np.ndarray]
    readout: Readout | None
    used: list[str]  # tensor names taken, sorted
    ignored: dict[str, Reason]  # tensor name -> why it was left out
    folded: str | None = None  # the embedding folded into weight_ih_l0
    # tensor name -> {keras_layer, layer, direction, became} (Keras 3 files; else empty)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Account:
    """The layers used as the embedding and the readout, and what was left out, why."""

    embedding: Outside | None = None
    readout: Outside | None = None
    ignored: dict[str, Reason] = field(default_factory=dict)


def settle(
    layers: list[Outside],
    input_size: int,
    hidden_size: int,
    vocab_size: int | None,
    other_rnns: Mapping[str, str],
) -> Account:
    """Pick the embedding and the readout among `layers` by the rules of the module doc.

    other_rnns: tensor name -> the other recurrent module it belongs to. Raises LayoutError
    when a vocabulary is given that no embedding or input size can take.
    """
    D, H = input_size, hidden_size
    out = Account()
    for name, module in other_rnns.items():
        out.ignored[name] = Reason("other_rnn", f"part of another recurrent module ({module})")
    tables = [
        la for la in layers
        if la.kind == "table" and la.shape and la.shape[1] == D and (D != H or la.embedding_named)
    ]  # fmt: skip
    feeders = [la for la in layers if la.kind != "other" and la.shape and la.shape[0] == D != H]
    readers = [la for la in layers if la.kind == "linear" and la.shape and la.shape[1] == H]
    if vocab_size is not None:
        out.embedding = _embedding(layers, tables, readers, D, vocab_size)
    no_readout = _why_no_readout(layers, readers, tables + feeders, H, other_rnns)
    if no_readout is None and readers:
        out.readout = readers[0]
    for la in layers:
        if la is not out.embedding and la is not out.readout:
            why = _why_ignored(la, tables, feeders, readers, no_readout, D, H)
            out.ignored.update({name: why for name in la.tensors})
    return out


def _embedding(
    layers: list[Outside], tables: list[Outside], readers: list[Outside], D: int, V: int
) -> Outside | None:
    """The table to fold for a vocabulary of V tokens, None for one-hot input (D == V)."""
    fits = [la for la in tables if la.shape and la.shape[0] == V]
    if len(fits) > 1:
        names = ", ".join(la.name for la in fits)
        raise LayoutError(f"several possible embeddings ({names}) for the {V} tokens; keep one")
    if not fits:
        if D == V:
            return None
        tied = [la.name for la in readers if la.shape == (V, D)]
        hint = (
            f"; {tied[0]} has that shape: if the embedding is tied to it, save both copies "
            "({k: v.clone() for k, v in model.state_dict().items()})"
            if tied
            else ""
        )
        raise LayoutError(
            f"vocab has {V} tokens but the RNN takes {D} inputs, and no embedding ({V} x {D}, "
            f"no bias) is in the file{hint}",
            "vocab",
        )
    (table,) = fits
    for la in layers:
        if la is table or la in readers:
            continue
        if D in la.vector_sizes or (la.shape and D in la.shape):
            raise LayoutError(
                f"{table.name} looks like the embedding, but {la.name} may sit between it and "
                f"the RNN; an embedding is folded in only when nothing can (if {la.name} acts "
                "elsewhere, e.g. on h, upload the file without its tensors)",
            )
    return table


def _why_no_readout(
    layers: list[Outside],
    readers: list[Outside],
    before: list[Outside],
    H: int,
    other_rnns: Mapping[str, str],
) -> str | None:
    """Why no layer that reads h can be taken as the readout (None: one can, or none reads h).
    `before` (possible embeddings, layers mapping to the RNN's inputs) feed the RNN."""
    if not readers:
        return None
    if other_rnns:
        modules = ", ".join(sorted(set(other_rnns.values())))
        return f"the file holds other recurrent modules ({modules}): which one feeds it is unknown"
    if len(readers) > 1:
        return f"several layers read h ({', '.join(r.name for r in readers)})"
    (reader,) = readers
    assert reader.shape is not None
    V = reader.shape[0]
    for la in layers:
        if la is reader or la in before:
            continue
        if (la.shape and la.shape[1] == V) or (la.kind == "other" and V in la.vector_sizes):
            return f"{la.name} may read or change its output (a head of several layers)"
        if la.kind == "other" and H in la.vector_sizes:
            return f"{la.name} has {H} numbers and may change h before it"
    return None


def _why_ignored(
    la: Outside,
    tables: list[Outside],
    feeders: list[Outside],
    readers: list[Outside],
    no_readout: str | None,
    D: int,
    H: int,
) -> Reason:
    if la in readers and no_readout is not None:
        return Reason("possible_readout", f"a possible readout, but {no_readout}: none is taken")
    if la in tables and la.shape is not None:
        if len(tables) > 1:
            names = ", ".join(t.name for t in tables)
            return Reason("several_embeddings", f"one of several possible embeddings ({names})")
        rows = la.shape[0]
        return Reason(
            "possible_embedding",
            f"an embedding ({rows} rows of {D})? give its {rows} tokens as vocab to fold it in, "
            "or send its rows as inputs",
        )
    if la in feeders:
        return Reason(
            "before_rnn",
            f"maps to the RNN's {D} inputs (a layer before it): send its outputs as inputs",
        )
    if la.kind in ("table", "bare") and la.shape is not None and la.shape[1] == H:
        return Reason(
            "no_bias",
            "reads h but has no bias; a readout needs one (save the Linear with its bias)",
        )
    return Reason("unrelated", "not part of the recurrent module, its embedding or its readout")


def fold_embedding(params: dict[str, np.ndarray], name: str, table: np.ndarray) -> None:
    """weight_ih_l0 (G*H, D) <- weight_ih_l0 @ table.T for a (V, D) embedding table (and so
    weight_ih_l0_reverse of a bidirectional model), whose values are checked first so that a
    bad one is named, not its product."""
    bad = np.argwhere(~np.isfinite(table) | (np.abs(table) > 1e12))
    if bad.size:
        where = tuple(int(i) for i in bad[0])
        raise LayoutError(f"{name}{list(where)} is {float(table[where])}; weights must be finite")
    for first in ("weight_ih_l0", "weight_ih_l0_reverse"):
        if first in params:
            params[first] = params[first] @ table.T  # (G*H, V)


def take(
    account: Account,
    params: dict[str, np.ndarray],
    read: Callable[[str], np.ndarray],
    readout_of: Callable[[tuple[str, ...]], Readout],
) -> tuple[Readout | None, str | None, list[str]]:
    """Fold the embedding settle chose into params and build its readout (`read` gives a
    tensor by name as float64, `readout_of` makes the layout's Readout from the readout's
    tensor names). Returns (readout, the folded tensor's name, the names taken)."""
    readout, folded, taken = None, None, []
    if account.embedding is not None:
        (folded,) = account.embedding.tensors
        fold_embedding(params, folded, read(folded))
        taken.append(folded)
    if account.readout is not None:
        readout = readout_of(account.readout.tensors)
        taken += account.readout.tensors
    return readout, folded, taken
