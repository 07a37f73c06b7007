"""Traces leave as JSON encoded straight from NumPy arrays, never through FastAPI's encoder.

float64 output goes through orjson (shortest round-trip repr of every number). float32
output is rounded to DISPLAY_DECIMALS decimals for display and written by app.api.fastjson.
The whole body is encoded in the worker thread that computed it, off the event loop.
"""

import math
from typing import Any

import numpy as np
import orjson
from fastapi.responses import JSONResponse

from app.api.errors import ApiError
from app.api.fastjson import DECIMALS, rounded_rows, rounded_vector
from app.engine import Trace

DISPLAY_DECIMALS = DECIMALS  # float32 traces are rounded to this many decimals


class OrjsonResponse(JSONResponse):
    """Bytes already encoded pass through; anything else is encoded by orjson."""

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def array_json(arr: np.ndarray, dtype: str) -> Any:
    """An array ready for orjson.dumps: a Fragment of rounded text, or a contiguous array."""
    if dtype == "float32" and arr.size:
        text = rounded_rows(arr) if arr.ndim == 2 else rounded_vector(arr.ravel())
        return orjson.Fragment(text)
    return np.ascontiguousarray(arr, dtype=np.float64)


def check_finite(name: str, arr: np.ndarray) -> None:
    """An overflow (huge weights or inputs, say a relu RNN) is the input's fault: a 422."""
    if arr.size and not (math.isfinite(float(arr.max())) and math.isfinite(float(arr.min()))):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ApiError(
            422,
            "overflow",
            f"{name}{list(where)} overflowed to {float(arr[where])}; use smaller inputs or "
            "weights, or dtype float64",
            name,
        )


def trace_json(trace: Trace, dtype: str, tokens: list[str] | None) -> bytes:
    for k, layer in enumerate(trace.layers):
        for field, value in layer.items():
            check_finite(f"layers[{k}].{field}", value)
    body: dict[str, Any] = {
        "cell": trace.cell,
        "input_size": trace.input_size,
        "hidden_size": trace.hidden_size,
        "num_layers": trace.num_layers,
        "dtype": dtype,
        "steps": int(next(iter(trace.layers[0].values())).shape[0]),
    }
    if tokens is not None:
        body["tokens"] = tokens
    body["layers"] = [{k: array_json(v, dtype) for k, v in layer.items()} for layer in trace.layers]
    body["h_n"] = array_json(trace.h_n, dtype)
    body["c_n"] = None if trace.c_n is None else array_json(trace.c_n, dtype)
    if trace.probs is not None and trace.logits is not None:
        check_finite("readout.logits", trace.logits)
        body["readout"] = {
            "logits": array_json(trace.logits, dtype),
            "probs": array_json(trace.probs, dtype),
        }
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
