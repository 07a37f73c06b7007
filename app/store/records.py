"""What the store holds: a model's description (ModelInfo) and its weights (StoredModel)."""

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import orjson

from app.engine import Readout
from app.engine.weight_cache import PreparedParams, stack_cache

UPLOAD_ID = re.compile(r"[0-9a-f]{24}")
BUILTIN_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
READOUT_WEIGHT, READOUT_BIAS = "readout.weight", "readout.bias"


@dataclass(frozen=True)
class ModelInfo:
    """A model's public description. `extra` carries further metadata of built-in models
    (training command, units worth looking at, ...) through to the API unchanged."""

    id: str
    name: str
    cell: str
    input_size: int
    hidden_size: int
    num_layers: int
    source: Literal["builtin", "upload"]
    parameters: int
    vocab: list[str] | None = None
    readout_size: int | None = None
    labels: list[str] | None = None
    task: str | None = None
    description: dict[str, str] | None = None
    metrics: dict[str, Any] | None = None
    example: Any = None
    layout: str = "torch"
    num_directions: int = 1  # 2 for a bidirectional model
    created: str | None = None
    bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {**self.extra, **out}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelInfo":
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names and not k.startswith("_")}
        return cls(**known, extra={**dict(data.get("extra") or {}), **extra})


@dataclass(frozen=True)
class StoredModel:
    """Weights in the engine's (PyTorch) layout, an optional readout and the description.

    params becomes a PreparedParams: the engine keeps its re-stacked copies of a stored
    model's weights with them (they count in nbytes, so the store's cache budget sees them),
    and they go when the model leaves the store's cache or is deleted.
    """

    info: ModelInfo
    params: dict[str, np.ndarray]
    readout: Readout | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.params, PreparedParams):
            object.__setattr__(self, "params", PreparedParams(self.params))

    @property
    def nbytes(self) -> int:
        total = sum(a.nbytes for a in self.params.values())
        prepared = stack_cache(self.params)
        total += prepared.nbytes if prepared is not None else 0
        if self.readout is not None:
            total += self.readout.weight.nbytes + self.readout.bias.nbytes
        return total


def compact(arr: np.ndarray) -> np.ndarray:
    """float32 when that loses nothing (weights exported from float32 models), else float64."""
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    small = arr.astype(np.float32)
    return small if np.array_equal(small, arr) else arr


def model_tensors(
    params: Mapping[str, np.ndarray], readout: Readout | None
) -> dict[str, np.ndarray]:
    """The tensors a stored file holds: the params, plus readout.weight/bias when present."""
    tensors = {name: compact(value) for name, value in params.items()}
    if readout is not None:
        tensors[READOUT_WEIGHT] = compact(readout.weight)
        tensors[READOUT_BIAS] = compact(readout.bias)
    return tensors


def content_id(cell: str, vocab: list[str] | None, tensors: Mapping[str, np.ndarray]) -> str:
    """The model's id: a hash of what determines its outputs (cell, vocabulary, every tensor),
    not of its name, so the same weights uploaded twice (or as .npz and .safetensors) match."""
    digest = hashlib.sha256(orjson.dumps({"cell": cell, "vocab": vocab}))
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        digest.update(f"\0{name}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()[:24]


def split_tensors(
    tensors: Mapping[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], Readout | None]:
    """A stored file's tensors -> (params as float64, readout or None)."""
    params = {
        k: np.asarray(v, dtype=np.float64)
        for k, v in tensors.items()
        if k not in (READOUT_WEIGHT, READOUT_BIAS)
    }
    readout = None
    if READOUT_WEIGHT in tensors and READOUT_BIAS in tensors:
        readout = Readout(
            np.asarray(tensors[READOUT_WEIGHT], dtype=np.float64),
            np.asarray(tensors[READOUT_BIAS], dtype=np.float64),
        )
    return params, readout
