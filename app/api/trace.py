"""POST /api/v1/trace: every gate and state at every step."""

import time
from collections.abc import Iterator

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.api.deps import OrjsonRoute, settings_of, store_of
from app.api.encoding import (
    JsonPartsResponse,
    OrjsonResponse,
    pipelined_trace_json,
    trace_json,
)
from app.api.resolve import Model, clamps, precheck, resolve_model, sequence, states
from app.api.responses import TraceResponse, errors
from app.api.schemas import TraceRequest
from app.config import Settings
from app.engine import Trace, run_trace
from app.observability import observe_trace
from app.store import ModelStore

trace_router = APIRouter(tags=["trace"], route_class=OrjsonRoute)
BLOCK_STEPS = 256  # a long float32 trace is computed in blocks of this many steps (pipelined)


def _blocks(
    model: Model, x: np.ndarray, h0: np.ndarray | None, c0: np.ndarray | None,
    fields: list[str] | None,
) -> Iterator[Trace]:  # fmt: skip
    """The trace in blocks of steps, each continuing from the state the last one ended in."""
    for t0 in range(0, x.shape[0], BLOCK_STEPS):
        block = run_trace(model.cell, model.params, x[t0 : t0 + BLOCK_STEPS], h0=h0, c0=c0,
                          readout=model.readout, dtype=np.float32, fields=fields)  # fmt: skip
        h0, c0 = block.h_n, block.c_n
        yield block


def _trace(body: TraceRequest, settings: Settings, store: ModelStore) -> JsonPartsResponse:
    """Everything after validation in one worker thread (model, inputs, compute, encoding):
    none of it blocks the event loop, and a busy machine pays for one thread hand-off only."""
    model = resolve_model(body.model, settings, store)
    x, tokens = sequence(model, body.inputs, body.text, settings)
    h0, c0 = states(model, body.h0, body.c0)
    if body.dtype == "float32" and not body.clamp and x.shape[0] > 2 * BLOCK_STEPS:
        t0 = time.perf_counter()
        with observe_trace(model.cell):  # compute and encoding overlap: timed together
            parts = pipelined_trace_json(_blocks(model, x, h0, c0, body.fields), tokens)
        timing = f"compute_encode;dur={(time.perf_counter() - t0) * 1e3:.2f}"
        return JsonPartsResponse(parts, headers={"Server-Timing": timing})
    interventions = clamps(body.clamp, model, len(x))
    t0 = time.perf_counter()
    with observe_trace(model.cell):  # gatescope_trace_compute_seconds on /metrics
        result = run_trace(model.cell, model.params, x, h0=h0, c0=c0, clamps=interventions,
                           readout=model.readout, dtype=np.dtype(body.dtype),
                           fields=body.fields)  # fmt: skip
    t1 = time.perf_counter()
    parts = trace_json(result, body.dtype, tokens)
    t2 = time.perf_counter()
    timing = f"compute;dur={(t1 - t0) * 1e3:.2f}, encode;dur={(t2 - t1) * 1e3:.2f}"
    return JsonPartsResponse(parts, headers={"Server-Timing": timing})


@trace_router.post(
    "/trace",
    response_class=OrjsonResponse,
    responses={200: {"model": TraceResponse}, **errors(400, 404, 413, 422, 503, 504)},
)
async def trace(body: TraceRequest, request: Request) -> JsonPartsResponse:
    """Run a model over a sequence and return every traced quantity, indexed [step][unit].

    The model is a stored one (`{"id"}`), random (`{"cell", "input_size", "hidden_size",
    "num_layers", "seed"}`) or given inline (`{"cell", "weights", "layout"}`). Give `inputs`
    or, for a model with a vocabulary, `text` (the response then lists the `tokens`).
    Computed with `dtype`; float32 answers are rounded to 5 decimals for display. The
    Server-Timing header gives the compute and encoding times in milliseconds.
    """
    settings = settings_of(request.app.state)
    precheck(body.model, body.inputs, body.text, settings)
    return await run_in_threadpool(_trace, body, settings, store_of(request.app.state))
