"""POST /api/v1/trace/html: a trace as one self-contained HTML file of the explorer."""

from typing import Literal

import numpy as np
import orjson
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.deps import OrjsonRoute, settings_of, store_of
from app.api.encoding import trace_json
from app.api.resolve import clamps, precheck, resolve_model, sequence, states
from app.api.responses import errors
from app.api.schemas import TraceRequest
from app.config import Settings
from app.engine import run_trace
from app.store import ModelStore
from app.web.standalone import standalone_html

HTML_FILE = 'attachment; filename="gatescope-trace.html"'

trace_html_router = APIRouter(tags=["trace"], route_class=OrjsonRoute)


def _page(body: TraceRequest, lang: str, settings: Settings, store: ModelStore) -> Response:
    model = resolve_model(body.model, settings, store)
    x, tokens = sequence(model, body.inputs, body.text, settings)  # the trace's limits
    h0, c0 = states(model, body.h0, body.c0)
    result = run_trace(model.cell, model.params, x, h0=h0, c0=c0,
                       clamps=clamps(body.clamp, model, len(x)), readout=model.readout,
                       dtype=np.dtype(body.dtype), fields=body.fields,
                       kernel=settings.kernel)  # fmt: skip
    trace = orjson.loads(b"".join(trace_json(result, body.dtype, tokens)))
    if tokens is None:
        trace["inputs"] = x.tolist()
    title = model.info.name if model.info is not None else None
    page = standalone_html(trace, lang=lang, title=title)
    headers = {"Content-Disposition": HTML_FILE, "Cache-Control": "no-store"}
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)


@trace_html_router.post(
    "/trace/html",
    response_class=Response,
    responses={
        200: {"content": {"text/html": {}}, "description": "One self-contained HTML file."},
        **errors(400, 404, 413, 422, 503, 504),
    },
)
async def trace_html(
    body: TraceRequest, request: Request, lang: Literal["en", "zh"] = Query("en")
) -> Response:
    """The explorer for this trace as one HTML file: scripts, styles and the trace inlined,
    opening from disk with no server and no network (its Content-Security-Policy allows no
    connection). The request is POST /api/v1/trace's, under the same limits; `format` is not
    used (the page holds the numbers as JSON)."""
    settings = settings_of(request.app.state)
    precheck(body.model, body.inputs, body.text, settings)
    store = store_of(request.app.state)
    return await run_in_threadpool(_page, body, lang, settings, store)
