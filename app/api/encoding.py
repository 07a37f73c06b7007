"""Traces leave as JSON encoded straight from NumPy arrays, never through FastAPI's encoder.

float64 output goes through orjson (shortest round-trip repr of every number). float32
output is rounded to DISPLAY_DECIMALS decimals for display and written by app.api.fastjson.
The whole body is encoded in the worker thread that computed it, off the event loop, as a
list of parts (one per array) that JsonPartsResponse sends one after the other: a trace of
tens of megabytes is never copied into one string. (Computing a long trace in blocks and
encoding each on a second thread was tried and measured slower: the engine's small NumPy
calls hold the GIL, so the two threads took turns instead of overlapping.)

`"format": "safetensors"` answers the arrays unrounded in one binary file instead.
"""

import math
from typing import Any

import numpy as np
import orjson
from fastapi.responses import JSONResponse
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

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


class JsonPartsResponse(Response):
    """A JSON body given as parts, sent in order with one Content-Length."""

    media_type = "application/json"

    def __init__(
        self, parts: list[bytes], status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(None, status_code, headers)
        self.parts = parts
        length = str(sum(len(p) for p in parts)).encode()
        self.raw_headers = [h for h in self.raw_headers if h[0] != b"content-length"]
        self.raw_headers.append((b"content-length", length))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        last = len(self.parts) - 1
        for k, part in enumerate(self.parts):
            await send({"type": "http.response.body", "body": part, "more_body": k < last})


class RawJson:
    """Text that is JSON already, kept as its own part by json_parts."""

    def __init__(self, text: bytes) -> None:
        self.text = text


def json_parts(value: Any) -> list[bytes]:
    """JSON of dicts, lists and scalars with RawJson leaves kept as separate parts; the small
    pieces between them are joined, so there are about as many parts as RawJson leaves."""
    parts: list[bytes] = []
    pending: list[bytes] = []

    def walk(v: Any) -> None:
        if isinstance(v, RawJson):
            if pending:
                parts.append(b"".join(pending))
                pending.clear()
            parts.append(v.text)
        elif isinstance(v, dict):
            pending.append(b"{")
            for k, (key, item) in enumerate(v.items()):
                pending.append((b',"' if k else b'"') + key.encode() + b'":')
                walk(item)
            pending.append(b"}")
        elif isinstance(v, list):
            pending.append(b"[")
            for k, item in enumerate(v):
                if k:
                    pending.append(b",")
                walk(item)
            pending.append(b"]")
        else:
            pending.append(orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY))

    walk(value)
    if pending:
        parts.append(b"".join(pending))
    return parts


def raw_array(arr: np.ndarray, dtype: str) -> RawJson:
    """An array's JSON: display-rounded text for float32, orjson's full precision for float64."""
    if dtype == "float32" and arr.size:
        return RawJson(rounded_rows(arr) if arr.ndim == 2 else rounded_vector(arr.ravel()))
    return RawJson(orjson.dumps(np.ascontiguousarray(arr, dtype=np.float64),
                                option=orjson.OPT_SERIALIZE_NUMPY))  # fmt: skip


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
            + ("weights, or dtype float64" if arr.dtype == np.float32 else "weights"),
            name,
        )


def _directions(trace: Trace) -> list[tuple[str, list[dict[str, np.ndarray]]]]:
    """(name part, per-layer fields) for each direction: ("", forward), (".backward", ...)."""
    both = [("", trace.layers)]
    if trace.backward is not None:
        both.append((".backward", trace.backward))
    for part, layers in both:
        for k, layer in enumerate(layers):
            for field, value in layer.items():
                check_finite(f"layers[{k}]{part}.{field}", value)
    return both


def trace_json(trace: Trace, dtype: str, tokens: list[str] | None) -> list[bytes]:
    """The trace response as JSON parts (see JsonPartsResponse). Keys are plain identifiers.
    A bidirectional trace's layers[k] also holds "backward": the same fields. An LSTM with a
    projection adds "proj_size" and each layer's "h_unprojected"."""
    _directions(trace)
    body: dict[str, Any] = {
        "cell": trace.cell,
        "input_size": trace.input_size,
        "hidden_size": trace.hidden_size,
        "num_layers": trace.num_layers,
        "dtype": dtype,
        "steps": int(next(iter(trace.layers[0].values())).shape[0]),
    }
    if trace.proj_size:  # an LSTM with a projection: h has proj_size units
        body["proj_size"] = trace.proj_size
    if trace.backward is not None:
        body["num_directions"] = 2
    if tokens is not None:
        body["tokens"] = tokens
    body["layers"] = [{k: raw_array(v, dtype) for k, v in layer.items()} for layer in trace.layers]
    for layer, back in zip(body["layers"], trace.backward or [], strict=False):
        layer["backward"] = {k: raw_array(v, dtype) for k, v in back.items()}
    body["h_n"] = raw_array(trace.h_n, dtype)
    body["c_n"] = None if trace.c_n is None else raw_array(trace.c_n, dtype)
    if trace.probs is not None and trace.logits is not None:
        check_finite("readout.logits", trace.logits)
        body["readout"] = {
            "logits": raw_array(trace.logits, dtype),
            "probs": raw_array(trace.probs, dtype),
        }
    return json_parts(body)


def trace_safetensors(trace: Trace, dtype: str, tokens: list[str] | None) -> memoryview:
    """The trace as one safetensors file, at the computed precision (no display rounding).

    Tensors: layers.{k}.{field} (steps, hidden) (and layers.{k}.backward.{field} for a
    bidirectional model), h_n and c_n (layers * directions, hidden), and with a readout
    readout.logits and readout.probs (steps, classes). The metadata holds cell, dtype and the
    sizes as decimal text, and tokens as a JSON list, as safetensors wants text values only;
    fields lists the layers' fields in the JSON answer's order. An LSTM with a projection
    (torch's proj_size P) adds proj_size to the metadata and layers.{k}.h_unprojected
    (steps, hidden); its h and h_n have P units.
    """
    tensors: dict[str, np.ndarray] = {}
    for part, layers in _directions(trace):
        for k, layer in enumerate(layers):
            for field, value in layer.items():
                tensors[f"layers.{k}{part}.{field}"] = value
    tensors["h_n"] = trace.h_n
    if trace.c_n is not None:
        tensors["c_n"] = trace.c_n
    if trace.probs is not None and trace.logits is not None:
        check_finite("readout.logits", trace.logits)
        tensors["readout.logits"] = trace.logits
        tensors["readout.probs"] = trace.probs
    meta = {
        "cell": trace.cell,
        "dtype": dtype,
        "input_size": str(trace.input_size),
        "hidden_size": str(trace.hidden_size),
        "num_layers": str(trace.num_layers),
        "steps": str(next(iter(trace.layers[0].values())).shape[0]),
        "fields": orjson.dumps(list(trace.layers[0])).decode(),  # the JSON answer's order
    }
    if trace.proj_size:
        meta["proj_size"] = str(trace.proj_size)
    if trace.backward is not None:
        meta["num_directions"] = "2"
    if tokens is not None:
        meta["tokens"] = orjson.dumps(tokens).decode()
    return pack_safetensors(tensors, meta)


_ST_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64"}


def pack_safetensors(tensors: dict[str, np.ndarray], meta: dict[str, str]) -> memoryview:
    """A safetensors file holding `tensors` (float32/float64), each copied once, straight
    from its (possibly strided) view into the file's buffer: the library's save() first
    makes every view contiguous and then copies it again. Tensors follow each other in the
    given order after a header padded to 8 bytes, so every one is aligned to its size."""
    header: dict[str, object] = {"__metadata__": meta}
    starts, offset = [], 0
    for name, arr in tensors.items():
        size = arr.size * arr.itemsize
        header[name] = {"dtype": _ST_DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + size]}  # fmt: skip
        starts.append(offset)
        offset += size
    text = orjson.dumps(header)
    text += b" " * (-len(text) % 8)
    start = 8 + len(text)
    buf = bytearray(start + offset)
    buf[:8] = len(text).to_bytes(8, "little")
    buf[8:start] = text
    for at, arr in zip(starts, tensors.values(), strict=True):
        out = np.frombuffer(buf, dtype=arr.dtype, count=arr.size, offset=start + at)
        out.reshape(arr.shape)[...] = arr
    return memoryview(buf)
