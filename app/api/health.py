"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.api.deps import settings_of, store_of
from app.api.errors import error_body
from app.api.responses import Health, Ready, errors
from app.engine.kernel import kernel_status

health_router = APIRouter(tags=["health"])


@health_router.get("/healthz", response_model=Health)
async def healthz() -> dict[str, str]:
    """Answers while the process runs; never touches the engine or the disk."""
    return {"status": "ok", "version": __version__}


@health_router.get("/readyz", response_model=Ready, responses=errors(503))
async def readyz(request: Request) -> dict[str, object] | JSONResponse:
    """Ready when the model store's folder is writable and the built-in models are loaded."""
    try:
        counts = await run_in_threadpool(store_of(request.app.state).status)
    except OSError as exc:
        body = error_body("not_ready", f"the model store is not usable: {exc}")
        return JSONResponse(body, status_code=503)
    kernel = {"setting": settings_of(request.app.state).kernel, **kernel_status()}
    return {"status": "ready", "version": __version__, **counts, "kernel": kernel}
