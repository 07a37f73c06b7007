"""POST /api/v1/trace: every gate and state at every step."""

import time

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.deps import OrjsonRoute, settings_of, store_of
from app.api.encoding import (
    JsonPartsResponse,
    OrjsonResponse,
    trace_json,
    trace_safetensors,
)
from app.api.resolve import clamps, precheck, resolve_model, sequence, states
from app.api.responses import TraceResponse, errors
from app.api.schemas import TraceRequest
from app.config import Settings
from app.engine import run_trace
from app.http.observability import observe_trace
from app.store import ModelStore

trace_router = APIRouter(tags=["trace"], route_class=OrjsonRoute)
SAFETENSORS_TYPE = "application/octet-stream"
SAFETENSORS_FILE = 'attachment; filename="trace.safetensors"'


def _trace(body: TraceRequest, settings: Settings, store: ModelStore) -> Response:
    """Everything after validation in one worker thread (model, inputs, compute, encoding):
    none of it blocks the event loop, and a busy machine pays for one thread hand-off only."""
    model = resolve_model(body.model, settings, store)
    x, tokens = sequence(model, body.inputs, body.text, settings)
    h0, c0 = states(model, body.h0, body.c0)
    interventions = clamps(body.clamp, model, len(x))
    t0 = time.perf_counter()
    with observe_trace(model.cell):  # gatescope_trace_compute_seconds on /metrics
        result = run_trace(model.cell, model.params, x, h0=h0, c0=c0, clamps=interventions,
                           readout=model.readout, dtype=np.dtype(body.dtype),
                           fields=body.fields)  # fmt: skip
    t1 = time.perf_counter()
    if body.format == "safetensors":
        blob = trace_safetensors(result, body.dtype, tokens)
        headers = {"Server-Timing": _timing(t0, t1), "Content-Disposition": SAFETENSORS_FILE}
        return Response(blob, media_type=SAFETENSORS_TYPE, headers=headers)
    parts = trace_json(result, body.dtype, tokens)
    return JsonPartsResponse(parts, headers={"Server-Timing": _timing(t0, t1)})


def _timing(t0: float, t1: float) -> str:
    """Server-Timing: compute from t0 to t1, encoding from t1 to now (perf_counter seconds)."""
    encode = time.perf_counter() - t1
    return f"compute;dur={(t1 - t0) * 1e3:.2f}, encode;dur={encode * 1e3:.2f}"


@trace_router.post(
    "/trace",
    response_class=OrjsonResponse,
    responses={
        200: {
            "model": TraceResponse,
            "content": {SAFETENSORS_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": 'The trace: JSON, or with "format": "safetensors" a safetensors file.',
        },
        **errors(400, 404, 413, 422, 503, 504),
    },
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
    """
    settings = settings_of(request.app.state)
    precheck(body.model, body.inputs, body.text, settings)
    return await run_in_threadpool(_trace, body, settings, store_of(request.app.state))
