"""POST /api/v1/trace: every gate and state at every step."""

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.api.encoding import OrjsonResponse, trace_body
from app.api.errors import ApiError
from app.api.limits import check_model_size, check_sequence
from app.api.schemas import RandomModelRef, TraceRequest
from app.engine import init_params, run_trace

trace_router = APIRouter(tags=["trace"])


def _matrix(rows: list[list[float]] | None, field: str, width: int) -> np.ndarray | None:
    if rows is None:
        return None
    for k, row in enumerate(rows):
        if len(row) != width:
            raise ApiError(
                422,
                "shape_mismatch",
                f"{field}[{k}] has {len(row)} numbers, expected {width}",
                f"{field}[{k}]",
            )
    return np.asarray(rows, dtype=np.float64)


@trace_router.post("/trace", response_class=OrjsonResponse)
async def trace(body: TraceRequest, request: Request) -> OrjsonResponse:
    """Run a model over a sequence and return every traced quantity, indexed [step][unit]."""
    settings = request.app.state.settings
    ref = body.model
    if not isinstance(ref, RandomModelRef):
        raise ApiError(404, "not_found", f"no model with id {ref.id!r}", "model.id")
    check_model_size(settings, ref.input_size, ref.hidden_size, ref.num_layers)
    if body.inputs is None:
        raise ApiError(422, "missing_input", "give inputs: one vector per step", "inputs")
    check_sequence(settings, len(body.inputs), ref.input_size, ref.hidden_size, ref.num_layers)
    x = _matrix(body.inputs, "inputs", ref.input_size)
    h0 = _matrix(body.h0, "h0", ref.hidden_size)
    c0 = _matrix(body.c0, "c0", ref.hidden_size)
    params = init_params(ref.cell, ref.input_size, ref.hidden_size, ref.num_layers, ref.seed)
    dtype = np.float32 if body.dtype == "float32" else np.float64
    result = await run_in_threadpool(run_trace, ref.cell, params, x, h0=h0, c0=c0, dtype=dtype)
    return OrjsonResponse(trace_body(result, body.dtype))
