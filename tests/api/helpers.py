"""Model files and requests shared by the API tests."""

import io
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from safetensors.numpy import save

from app.engine import init_params

VOCAB = ["a", "b", "c", " ", "."]


def lstm_weights(d: int = 2, h: int = 3, seed: int = 0, layers: int = 1) -> dict[str, np.ndarray]:
    """PyTorch-named float32 LSTM weights (the dtype torch exports)."""
    return {k: v.astype(np.float32) for k, v in init_params("lstm", d, h, layers, seed).items()}


def with_readout(
    weights: dict[str, np.ndarray], vocab_size: int, seed: int = 1, module: str = "lstm"
) -> dict[str, np.ndarray]:
    """The weights under a module prefix, plus a Linear readout named decoder.*"""
    rng = np.random.default_rng(seed)
    h = weights["weight_hh_l0"].shape[1]
    out = {f"{module}.{k}": v for k, v in weights.items()}
    out["decoder.weight"] = rng.uniform(-0.5, 0.5, (vocab_size, h)).astype(np.float32)
    out["decoder.bias"] = rng.uniform(-0.5, 0.5, vocab_size).astype(np.float32)
    return out


def npz_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **tensors)  # type: ignore[arg-type]
    return buf.getvalue()


def upload(
    client: TestClient,
    tensors: dict[str, np.ndarray] | None = None,
    *,
    filename: str = "model.safetensors",
    content: bytes | None = None,
    **form: str,
) -> Any:
    """POST /api/v1/models with a safetensors file of `tensors` (or raw `content`)."""
    blob = content if content is not None else save(tensors or lstm_weights())
    data = {"cell": "lstm", "layout": "torch", "name": "test model", **form}
    return client.post("/api/v1/models", data=data, files={"file": (filename, blob)})
