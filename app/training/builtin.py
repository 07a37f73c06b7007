"""The models shipped in app/builtin_models: <id>.safetensors + <id>.json each."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from app.engine import Readout

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "builtin_models"


@dataclass
class BuiltinModel:
    """id, cell, params (PyTorch state_dict names), readout, metadata (the JSON file)."""

    id: str
    cell: str
    params: dict[str, np.ndarray]
    readout: Readout | None
    meta: dict[str, Any]


def load_model(json_path: Path) -> BuiltinModel:
    """One model from its JSON file and the safetensors file beside it."""
    meta = json.loads(json_path.read_text(encoding="utf-8"))
    tensors = load_file(str(json_path.with_suffix(".safetensors")))
    readout = None
    if "readout.weight" in tensors:
        readout = Readout(tensors.pop("readout.weight"), tensors.pop("readout.bias"))
    return BuiltinModel(meta["id"], meta["cell"], tensors, readout, meta)


def builtin_paths(directory: Path = BUILTIN_DIR) -> list[Path]:
    """The JSON files that have a safetensors file beside them, sorted by name."""
    return sorted(p for p in directory.glob("*.json") if p.with_suffix(".safetensors").exists())


def load_builtin_models(directory: Path = BUILTIN_DIR) -> list[BuiltinModel]:
    """Every shipped model, in id order. Called by the model store at start."""
    return [load_model(p) for p in builtin_paths(directory)]
