"""Liveness and readiness probes."""

from fastapi import APIRouter

from app import __version__

health_router = APIRouter(tags=["health"])


@health_router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Answers while the process runs; never touches the engine or the disk."""
    return {"status": "ok", "version": __version__}
