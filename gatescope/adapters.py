"""A live model object -> what the engine runs: (cell, Converted, vocabulary size).

Which framework an object belongs to is told by the module of its type (and of the types it
derives from), so torch, keras and onnx are imported only for an object of theirs. The layouts
are the server's (app/engine/layouts_torch.py, layouts_keras3.py, layouts_onnx.py): a model
traced here gives the numbers the same weights give uploaded.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.engine.layouts_account import Converted

RNN_KINDS = {"LSTM": "lstm", "GRU": "gru"}  # torch class name -> cell; RNN by nonlinearity


@dataclass
class Found:
    """What the engine needs of a model: its cell, weights (Converted), and for token ids the
    vocabulary size and the embedding table (V, D); batch_first: x is (batch, steps, ...)."""

    cell: str
    converted: Converted
    vocab: int | None = None
    table: np.ndarray | None = None
    batch_first: bool = False


class ModelError(ValueError):
    """The object is no model gatescope can read, or holds none or several recurrent parts."""


def framework(obj: Any) -> str:
    """The framework of an object ("torch", "keras" or "onnx"), else "" ."""
    for kind in type(obj).__mro__:
        top = kind.__module__.partition(".")[0]
        if top in ("torch", "keras", "onnx"):
            return top
    return ""


def _torch_rnns(module: Any) -> list[tuple[str, Any]]:
    return [
        (name, m)
        for name, m in module.named_modules()
        if type(m).__name__ in ("LSTM", "GRU", "RNN") and type(m).__module__.startswith("torch")
    ]


def _torch_cell(rnn: Any) -> str:
    kind = type(rnn).__name__
    if kind == "RNN":
        return "rnn_relu" if rnn.nonlinearity == "relu" else "rnn_tanh"
    return RNN_KINDS[kind]


def from_torch_module(module: Any, ids: bool) -> Found:
    """An nn.LSTM/GRU/RNN or a module holding one; with `ids` (token ids in) its nn.Embedding
    is folded into layer 0."""
    from app.engine import convert_torch

    rnns = _torch_rnns(module)
    if len(rnns) != 1:
        found = ", ".join(f"{n or '(top)'} ({type(m).__name__})" for n, m in rnns) or "none"
        raise ModelError(f"the module must hold exactly one nn.LSTM, GRU or RNN; found {found}")
    name, rnn = rnns[0]
    tensors = {k: v.detach().cpu().double().numpy() for k, v in module.state_dict().items()}
    vocab, table = None, None
    if ids:
        tables = [m for m in module.modules() if type(m).__name__ == "Embedding"]
        if len(tables) != 1:
            raise ModelError("token ids need exactly one nn.Embedding in the module")
        vocab = int(tables[0].num_embeddings)
        table = tables[0].weight.detach().cpu().double().numpy()
    cell = _torch_cell(rnn)
    converted = convert_torch(cell, tensors, f"{name}." if name else ".", vocab)
    return Found(cell, converted, vocab, table, bool(rnn.batch_first))


_KERAS_CELLS = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn_tanh"}


def _keras_cell(layer: Any) -> str | None:
    kind = type(layer).__name__
    if kind == "Bidirectional":
        return _keras_cell(layer.forward_layer)
    if kind not in _KERAS_CELLS:
        return None
    if kind == "SimpleRNN" and getattr(layer.activation, "__name__", "") == "relu":
        return "rnn_relu"
    return _KERAS_CELLS[kind]


def from_keras(obj: Any, input_size: int | None, ids: bool) -> Found:
    """A Keras 3 model, or one recurrent layer
    (wrapped into a Sequential over `input_size` features). The model is saved to a temporary
    .keras file and read like an upload of it."""
    import keras

    from app.engine import convert_keras_file
    from app.store import FileLimits
    from app.store.uploads import read_keras_upload

    model = obj
    if not isinstance(obj, keras.Model):
        if _keras_cell(obj) is None:
            raise ModelError(f"a {type(obj).__name__} is not an LSTM, GRU or SimpleRNN layer")
        model = keras.Sequential([keras.Input((None, input_size)), obj])
    cells = [c for c in (_keras_cell(la) for la in model.layers) if c is not None]
    if not cells:
        raise ModelError("the Keras model has no LSTM, GRU, SimpleRNN or Bidirectional layer")
    vocab, table = None, None
    if ids:
        tables = [la for la in model.layers if type(la).__name__ == "Embedding"]
        if len(tables) != 1:
            raise ModelError("token ids need exactly one Embedding layer in the model")
        vocab = int(tables[0].input_dim)
        table = np.asarray(tables[0].get_weights()[0], dtype=np.float64)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(str(path))
        read = read_keras_upload("model.keras", path.read_bytes(), FileLimits())
    converted = convert_keras_file(cells[0], read.config, read.tensors, read.attrs, vocab)
    return Found(cells[0], converted, vocab, table, batch_first=True)


def from_onnx(proto: Any) -> Found:
    """An ONNX ModelProto holding LSTM/GRU/RNN ops (read, not run; x is (steps, batch, D))."""
    from app.engine.layouts_onnx import convert_onnx
    from app.store import FileLimits
    from app.store.onnx_reader import read_onnx

    limits = FileLimits()
    model = read_onnx(proto.SerializeToString(), limits.max_tensors, limits.max_elements)
    cell, converted = convert_onnx(model.ops, model.readout)
    return Found(cell, converted)


def as_array(x: Any) -> np.ndarray:
    """A torch tensor, Keras tensor, list or array as a NumPy array (its own dtype)."""
    if framework(x) == "torch":
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(x)
