"""POST /api/v1/trace: every gate and state at every step."""

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response

from app.api.binary import BINARY_TYPES, binary_inputs, is_binary, read_trace_request
from app.api.deps import OrjsonRoute, settings_of, store_of
from app.api.encoding import (
    JsonPartsResponse,
    OrjsonResponse,
    trace_json,
    trace_safetensors,
)
from app.api.etag import none_match, trace_etag
from app.api.resolve import clamps, precheck, resolve_model, sequence, states
from app.api.responses import TraceResponse, errors
from app.api.schemas import TraceRequest
from app.config import Settings
from app.engine import run_trace
from app.http.compression import accepts_gzip, gzip_parts
from app.http.observability import observe_trace
from app.store import ModelStore

SAFETENSORS_TYPE = "application/octet-stream"
SAFETENSORS_FILE = 'attachment; filename="trace.safetensors"'


@dataclass(frozen=True)
class Wire:
    """The request as sent (for the ETag) and what its headers ask of the answer."""

    media_type: str
    body: bytes
    gzip: bool
    if_none_match: str

    @classmethod
    def of(cls, headers: Headers, body: bytes) -> "Wire":
        gzip = accepts_gzip(headers.get("accept-encoding", ""))
        return cls(headers.get("content-type", ""), body, gzip, headers.get("if-none-match", ""))


def _trace(body: TraceRequest, settings: Settings, store: ModelStore, wire: Wire,
           arrays: dict[str, np.ndarray] | None = None) -> Response:  # fmt: skip
    """Everything after validation in one worker thread (model, inputs, compute, encoding,
    compression): none of it blocks the event loop, and a busy machine pays for one thread
    hand-off only. `arrays`: the tensors of a binary request (app/api/binary.py)."""
    model = resolve_model(body.model, settings, store)
    coding = "gzip" if wire.gzip and body.format == "json" and settings.gzip_min_bytes else ""
    etag = trace_etag(model, wire.media_type, wire.body, coding)
    headers = {"ETag": etag, "Vary": "Accept-Encoding"}
    if none_match(wire.if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if arrays is None:
        x, tokens = sequence(model, body.inputs, body.text, settings)
        h0, c0 = states(model, body.h0, body.c0)
    else:
        x, tokens, h0, c0 = binary_inputs(model, arrays, body.text, settings)
    interventions = clamps(body.clamp, model, len(x))
    t0 = time.perf_counter()
    with observe_trace(model.cell):  # gatescope_trace_compute_seconds on /metrics
        result = run_trace(model.cell, model.params, x, h0=h0, c0=c0, clamps=interventions,
                           readout=model.readout, dtype=np.dtype(body.dtype),
                           fields=body.fields, kernel=settings.kernel)  # fmt: skip
    t1 = time.perf_counter()
    if body.format == "safetensors":
        blob = trace_safetensors(result, body.dtype, tokens)
        timing = _timing(t0, t1, kernel=result.kernel)
        headers |= {"Server-Timing": timing, "Content-Disposition": SAFETENSORS_FILE}
        return Response(blob, media_type=SAFETENSORS_TYPE, headers=headers)
    parts = trace_json(result, body.dtype, tokens)
    if coding and sum(len(p) for p in parts) >= settings.gzip_min_bytes:
        t2 = time.perf_counter()
        packed = gzip_parts(parts, settings.gzip_level)
        gzip_ms = (time.perf_counter() - t2) * 1e3
        timing = f"{_timing(t0, t1, t2, result.kernel)}, gzip;dur={gzip_ms:.2f}"
        headers |= {"Server-Timing": timing, "Content-Encoding": "gzip"}
        return Response(packed, media_type="application/json", headers=headers)
    timing = _timing(t0, t1, kernel=result.kernel)
    return JsonPartsResponse(parts, headers=headers | {"Server-Timing": timing})


def _timing(t0: float, t1: float, t2: float | None = None, kernel: str = "numpy") -> str:
    """Server-Timing: compute from t0 to t1 (its desc names the engine loop that ran: numpy
    or numba), encoding from t1 to t2 (or now), in ms."""
    encode = (t2 if t2 is not None else time.perf_counter()) - t1
    compute = f'compute;dur={(t1 - t0) * 1e3:.2f};desc="{kernel}"'
    return f"{compute}, encode;dur={encode * 1e3:.2f}"


def _binary(raw: bytes, headers: Headers, settings: Settings, store: ModelStore) -> Response:
    body, arrays = read_trace_request(raw)
    precheck(body.model, arrays.get("inputs"), body.text, settings)
    return _trace(body, settings, store, Wire.of(headers, raw), arrays)


class TraceRoute(OrjsonRoute):
    """A safetensors body (app/api/binary.py) goes to the binary reader, JSON to FastAPI's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            if not is_binary(request.headers.get("content-type", "")):
                return await handler(request)
            state = request.app.state
            raw = await request.body()
            return await run_in_threadpool(
                _binary, raw, request.headers, settings_of(state), store_of(state)
            )

        return route


trace_router = APIRouter(tags=["trace"], route_class=TraceRoute)
_BINARY_BODY = {
    "schema": {"type": "string", "format": "binary"},
    "description": "A safetensors file: tensors inputs (steps, input_size) and optionally h0, "
    "c0 (layers, hidden_size), F32 or F64; __metadata__.request holds the JSON of the other "
    "fields (model, dtype, fields, format, clamp, or text instead of inputs).",
}


@trace_router.post(
    "/trace",
    response_class=OrjsonResponse,
    responses={
        200: {
            "model": TraceResponse,
            "content": {SAFETENSORS_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": 'The trace: JSON, or with "format": "safetensors" a safetensors file.',
        },
        304: {"description": "Not modified: If-None-Match names this answer's ETag."},
        **errors(400, 404, 413, 422, 503, 504),
    },
    openapi_extra={"requestBody": {"content": {BINARY_TYPES[0]: _BINARY_BODY}}},
)
async def trace(body: TraceRequest, request: Request) -> Response:
    """Run a model over a sequence and return every traced quantity, indexed [step][unit].

    The model is a stored one (`{"id"}`), random (`{"cell", "input_size", "hidden_size",
    "num_layers", "seed"}`) or given inline (`{"cell", "weights", "layout"}`). Give `inputs`
    or, for a model with a vocabulary, `text` (the response then lists the `tokens`).
    Computed with `dtype`; float32 JSON answers are rounded to 5 decimals for display.
    `"format": "safetensors"` answers the same arrays unrounded as a safetensors file
    (`safetensors.numpy.load(response.content)`). The Server-Timing header gives the compute
    and encoding times in milliseconds.

    The inputs may also come as a safetensors body (Content-Type
    `application/vnd.safetensors` or `application/octet-stream`): tensors `inputs`, `h0`,
    `c0` (F32 or F64) and the other fields as JSON text in its `__metadata__.request`,
    validated as strictly as JSON. Large JSON answers are gzip'd when Accept-Encoding allows.
    Every answer has a strong ETag (model content, request, format, coding); a request with
    `If-None-Match` naming it is answered 304 without computing.
    """
    settings = settings_of(request.app.state)
    precheck(body.model, body.inputs, body.text, settings)
    wire = Wire.of(request.headers, await request.body())
    return await run_in_threadpool(_trace, body, settings, store_of(request.app.state), wire)
