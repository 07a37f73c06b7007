"""POST /api/v1/trace: every gate and state at every step."""

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.api.deps import OrjsonRoute, settings_of, store_of
from app.api.encoding import OrjsonResponse, trace_json
from app.api.resolve import Model, clamps, precheck, resolve_model, sequence, states
from app.api.responses import TraceResponse, errors
from app.api.schemas import TraceRequest
from app.engine import Clamp, run_trace
from app.observability import observe_trace

trace_router = APIRouter(tags=["trace"], route_class=OrjsonRoute)


def _trace(
    model: Model,
    x: np.ndarray,
    h0: np.ndarray | None,
    c0: np.ndarray | None,
    interventions: list[Clamp],
    dtype: str,
    fields: list[str] | None,
    tokens: list[str] | None,
) -> bytes:
    """Compute and encode in one worker thread: neither blocks the event loop."""
    with observe_trace(model.cell):  # gatescope_trace_compute_seconds on /metrics
        result = run_trace(model.cell, model.params, x, h0=h0, c0=c0, clamps=interventions,
                           readout=model.readout, dtype=np.dtype(dtype), fields=fields)  # fmt: skip
    return trace_json(result, dtype, tokens)


@trace_router.post(
    "/trace",
    response_class=OrjsonResponse,
    responses={200: {"model": TraceResponse}, **errors(400, 404, 413, 422, 503, 504)},
)
async def trace(body: TraceRequest, request: Request) -> OrjsonResponse:
    """Run a model over a sequence and return every traced quantity, indexed [step][unit].

    The model is a stored one (`{"id"}`), random (`{"cell", "input_size", "hidden_size",
    "num_layers", "seed"}`) or given inline (`{"cell", "weights", "layout"}`). Give `inputs`
    or, for a model with a vocabulary, `text` (the response then lists the `tokens`).
    """
    settings = settings_of(request.app.state)
    precheck(body.model, body.inputs, body.text, settings)
    store = store_of(request.app.state)
    model = await run_in_threadpool(resolve_model, body.model, settings, store)
    x, tokens = sequence(model, body.inputs, body.text, settings)
    h0, c0 = states(model, body.h0, body.c0)
    content = await run_in_threadpool(
        _trace, model, x, h0, c0, clamps(body.clamp), body.dtype, body.fields, tokens
    )
    return OrjsonResponse(content)
