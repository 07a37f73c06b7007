"""Built-in models (trained and shipped with the package) as a read-only source for the store.

They come from ``app.training.builtin.load_builtin_models()``; this module only adapts what
that returns (objects or mappings with an id, a cell, weights in PyTorch names, an optional
readout and metadata) to StoredModel. A build without built-in models simply has none.
"""

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from app.engine import Readout, from_torch, model_sizes
from app.store.records import BUILTIN_ID, ModelInfo, StoredModel

log = logging.getLogger("gatescope.store")


def _get(item: Any, *names: str) -> Any:
    for name in names:
        if isinstance(item, Mapping) and name in item:
            return item[name]
        if not isinstance(item, Mapping) and hasattr(item, name):
            return getattr(item, name)
    return None


def to_stored(item: Any) -> StoredModel:
    """One built-in model, whatever record type the loader used, as a StoredModel."""
    if isinstance(item, StoredModel):
        return item
    meta = dict(_get(item, "meta", "metadata", "info") or {})
    if not meta and isinstance(item, Mapping):
        meta = {k: v for k, v in item.items() if k not in ("params", "weights", "tensors")}
    model_id = str(_get(item, "id") or meta.get("id") or "")
    cell = str(_get(item, "cell") or meta.get("cell") or "")
    if not BUILTIN_ID.fullmatch(model_id):
        raise ValueError(f"built-in model id {model_id!r} is not a short lowercase name")
    tensors = _get(item, "params", "weights", "tensors")
    if not isinstance(tensors, Mapping):
        raise ValueError(f"built-in model {model_id} has no weights")
    arrays = {str(k): np.asarray(v, dtype=np.float64) for k, v in tensors.items()}
    params, readout = from_torch(cell, arrays)
    given = _get(item, "readout")
    if isinstance(given, Readout):
        readout = given
    input_size, hidden_size, num_layers = model_sizes(cell, params)
    count = sum(a.size for a in params.values())
    if readout is not None:
        count += readout.weight.size + readout.bias.size
    info = ModelInfo.from_dict(
        {
            "name": model_id,
            **meta,
            "id": model_id,
            "cell": cell,
            "input_size": input_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "source": "builtin",
            "parameters": count,
            "readout_size": None if readout is None else int(readout.weight.shape[0]),
        }
    )
    return StoredModel(info, params, readout)


def load_builtins() -> list[StoredModel]:
    """Every built-in model that loads; one that does not is logged and left out."""
    try:
        from app.training.builtin import load_builtin_models
    except ImportError:
        return []
    try:
        items: Iterable[Any] = load_builtin_models()
    except Exception as exc:  # broken shipped files must not take the uploads down with them
        log.error("built-in models not loaded: %s", exc)
        return []
    if isinstance(items, Mapping):
        items = [
            v if _get(v, "id") else {**dict(v), "id": k} if isinstance(v, Mapping) else v
            for k, v in items.items()
        ]
    models = []
    for item in items:
        try:
            models.append(to_stored(item))
        except Exception as exc:  # one broken shipped file must not take the service down
            log.error("built-in model %r left out: %s", _get(item, "id"), exc)
    return models
