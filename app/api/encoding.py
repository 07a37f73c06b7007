"""Traces leave as JSON encoded by orjson straight from NumPy arrays (no .tolist())."""

from typing import Any

import numpy as np
import orjson
from fastapi import Response

from app.engine import Trace

DISPLAY_DECIMALS = 5  # float32 traces are rounded to this many decimals unless float64 is asked


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def _out(arr: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "float32":
        arr = np.round(arr.astype(np.float32, copy=False), DISPLAY_DECIMALS)
    return np.ascontiguousarray(arr)


def trace_body(trace: Trace, dtype: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cell": trace.cell,
        "input_size": trace.input_size,
        "hidden_size": trace.hidden_size,
        "num_layers": trace.num_layers,
        "dtype": dtype,
        "steps": int(trace.layers[0]["h"].shape[0]),
        "layers": [{k: _out(v, dtype) for k, v in layer.items()} for layer in trace.layers],
    }
    if trace.probs is not None and trace.logits is not None:
        body["readout"] = {"logits": _out(trace.logits, dtype), "probs": _out(trace.probs, dtype)}
    return body
