"""What the tensors around a recurrent module are: the embedding before it, the readout after
it, and everything left out, each with its reason. Shared by the PyTorch and Keras layouts.

A weight file does not record how its layers connect, so a readout is taken only when nothing
else can stand between the RNN and it: exactly one layer with a bias reads h (weight (V, H)),
no other layer reads that layer's V outputs (a head of several layers), no other tensor has H
numbers (a norm over h), and no other recurrent module is in the file. An embedding is a
bias-less (V, D) table, D the RNN's input size; when the upload names a vocabulary of V
tokens it is folded into the first layer: with x the one-hot token, W_ih (E^T x) =
(W_ih E^T) x, so the stored model takes one-hot tokens like every model with a vocabulary.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from app.engine.records import Readout


@dataclass(frozen=True)
class Outside:
    """A layer outside the recurrent module, told apart by its tensors' shapes.

    kind "linear": a weight read as (out, in) with a bias of `out` numbers; "table": a 2-d
    weight (rows, width) without a bias (an embedding, or a bias-less linear layer (out, in));
    "other": anything else (norms, buffers). `tensors` are the layer's names in the file.
    """

    name: str
    kind: str
    shape: tuple[int, int] | None
    tensors: tuple[str, ...]
    vector_sizes: tuple[int, ...] = ()  # lengths of the layer's 1-d tensors


@dataclass
class Converted:
    """Weights in the engine's layout, and an account of the file's tensors by their names."""

    params: dict[str, np.ndarray]
    readout: Readout | None
    used: list[str]  # tensor names taken, in the file's order
    ignored: dict[str, str]  # tensor name -> why it was left out


@dataclass
class Account:
    """The tensor names used as the embedding and the readout, and what was left out, why."""

    embedding: Outside | None = None
    readout: Outside | None = None
    ignored: dict[str, str] = field(default_factory=dict)


def settle(
    layers: list[Outside],
    input_size: int,
    hidden_size: int,
    vocab_size: int | None,
    other_rnns: Mapping[str, str],
) -> Account:
    """Pick the embedding and the readout among `layers` by the rules of the module doc.

    other_rnns: tensor name -> the other recurrent module it belongs to.
    """
    out = Account()
    out.ignored.update(
        {
            n: f"part of another recurrent module ({m}), not the one traced"
            for n, m in other_rnns.items()
        }
    )
    tables = [la for la in layers if la.kind == "table" and la.shape and la.shape[1] == input_size]
    if vocab_size is not None:
        fits = [la for la in tables if la.shape and la.shape[0] == vocab_size]
        if len(fits) == 1:
            out.embedding = fits[0]
    readers = [
        la for la in layers if la.kind == "linear" and la.shape and la.shape[1] == hidden_size
    ]
    reason = _why_no_readout(layers, readers, tables, hidden_size, other_rnns)
    if reason is None and readers:
        out.readout = readers[0]
    for la in layers:
        if la is out.embedding or la is out.readout:
            continue
        why = _why_ignored(la, readers, reason, input_size, hidden_size, vocab_size)
        out.ignored.update({name: why for name in la.tensors})
    return out


def _why_no_readout(
    layers: list[Outside],
    readers: list[Outside],
    tables: list[Outside],
    hidden_size: int,
    other_rnns: Mapping[str, str],
) -> str | None:
    """Why no layer that reads h can be taken as the readout (None: one can, or none reads h).
    `tables` (possible embeddings) feed the RNN, so they cannot read the readout's output."""
    if not readers:
        return None
    if other_rnns:
        modules = ", ".join(sorted(set(other_rnns.values())))
        return f"the file holds other recurrent modules ({modules}): which one feeds it is unknown"
    if len(readers) > 1:
        return f"several layers read h ({', '.join(r.name for r in readers)}): none is taken"
    reader = readers[0]
    assert reader.shape is not None
    for la in layers:
        if la is reader or la in tables or la.shape is None:
            continue
        if la.shape[1] == reader.shape[0]:
            return f"{la.name} may read its output (a head of several layers): none is taken"
    for la in layers:
        if la is not reader and la.kind == "other" and hidden_size in la.vector_sizes:
            return f"{la.name} has {hidden_size} numbers and may change h before it: none is taken"
    return None


def _why_ignored(
    la: Outside,
    readers: list[Outside],
    no_readout: str | None,
    input_size: int,
    hidden_size: int,
    vocab_size: int | None,
) -> str:
    if la in readers and no_readout is not None:
        return f"a possible readout, but {no_readout}"
    if la.kind == "table" and la.shape is not None:
        rows, width = la.shape
        if width == input_size and vocab_size is None:
            return (
                f"an embedding ({rows} rows of {width})? give the {rows} tokens as vocab to fold "
                "it in, or send its rows as inputs"
            )
        if width == input_size:
            return f"an embedding of {rows} rows, but vocab has {vocab_size} tokens"
        if width == hidden_size:
            return "reads h but has no bias; a readout needs one (save the Linear with bias)"
    return "not part of the recurrent module, its embedding or its readout"


def fold_embedding(params: dict[str, np.ndarray], table: np.ndarray) -> None:
    """weight_ih_l0 (G*H, D) <- weight_ih_l0 @ table.T for a (V, D) embedding table."""
    params["weight_ih_l0"] = params["weight_ih_l0"] @ table.T  # (G*H, V)
