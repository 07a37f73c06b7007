"""The servers bench/api_bench.py compares the product with, each a uvicorn factory.

- default_encoder_app: the same route answered through FastAPI's default encoder.
- prepared_answer_app: the product with its encoding taken out (an infinitely fast encoder).
- http_only_app: HTTP alone, the same bytes answered to the same body, nothing parsed or run.

The last two measure floors: what the round trip would cost if encoding, then everything but
HTTP, cost nothing.
"""

from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from app.api.deps import OrjsonRoute, settings_of, store_of
from app.api.resolve import resolve_model, sequence
from app.api.schemas import TraceRequest
from app.config import Settings
from app.engine import run_trace
from app.main import create_app


def default_encoder_app() -> FastAPI:
    """POST /api/v1/trace returning a dict of lists (jsonable_encoder + json.dumps)."""
    app = FastAPI()
    app.state.settings = Settings()
    router = APIRouter(route_class=OrjsonRoute)  # the same request parsing as the product

    @router.post("/api/v1/trace", response_model=None)  # no model: jsonable_encoder + json
    async def trace(body: TraceRequest, request: Request) -> dict[str, Any]:
        settings = settings_of(request.app.state)
        model = resolve_model(body.model, settings, store_of(request.app.state))
        x, _ = sequence(model, body.inputs, body.text, settings)
        result = await run_in_threadpool(
            run_trace, model.cell, model.params, x, dtype=np.dtype(body.dtype)
        )

        def out(a: np.ndarray) -> list[Any]:
            a = a.astype(np.float64)
            return (np.round(a, 5) if body.dtype == "float32" else a).tolist()  # type: ignore[no-any-return]

        return {
            "cell": result.cell,
            "steps": int(x.shape[0]),
            "layers": [{k: out(v) for k, v in layer.items()} for layer in result.layers],
            "h_n": out(result.h_n),
            "c_n": None if result.c_n is None else out(result.c_n),
        }

    app.include_router(router)
    return app


def prepared_answer_app() -> FastAPI:
    """The product app, except that each encoder (JSON, safetensors) runs once per dtype and
    its answer is resent after that: request parsing, validation, compute and HTTP as usual."""
    import app.api.trace as route

    kept: dict[tuple[str, str], Any] = {}

    def once(encode: Callable[..., Any]) -> Callable[..., Any]:
        def prepared(trace: Any, dtype: str, tokens: Any) -> Any:
            key = (encode.__name__, dtype)
            if key not in kept:
                kept[key] = encode(trace, dtype, tokens)
            return kept[key]

        return prepared

    for name in ("trace_json", "trace_safetensors"):  # the names the route calls them by
        setattr(route, name, once(getattr(route, name)))
    return create_app()


def http_only_app() -> Callable[[Scope, Receive, Send], Any]:
    """A bare ASGI app that reads the whole body and answers the bytes the product answered
    to the same body (asked once, in process). Bodies are told apart by length and tail,
    which is where the bench's bodies differ (dtype, format): no hashing of the body."""
    product = create_app()
    answers: dict[tuple[int, bytes], tuple[bytes, bytes]] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        key = (len(body), body[-64:])
        if key not in answers:
            transport = httpx.ASGITransport(app=product)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                res = await client.post("/api/v1/trace", content=body,
                                        headers={"content-type": "application/json"})  # fmt: skip
            answers[key] = (res.headers["content-type"].encode(), res.content)
        media, answer = answers[key]
        headers = [(b"content-type", media), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app
