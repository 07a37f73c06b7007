"""Application factory: builds the FastAPI app from settings."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import __version__
from app.api import api_router
from app.api.errors import install_error_handlers
from app.api.health import health_router
from app.api.metrics import metrics_router
from app.config import Settings, get_settings
from app.engine.kernel import warm_up_in_background
from app.http.head import HeadAsGetMiddleware
from app.http.memory import keep_large_blocks
from app.http.observability import REQUEST_ID_HEADER, ObservabilityMiddleware
from app.http.security import install_security
from app.paths import STATIC_DIR
from app.training.pool import shutdown_pools
from app.web.assets import VersionedStaticFiles
from app.web.learn import learn_router
from app.web.pages import pages_router
from app.web.train_page import train_page_router


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    # uvicorn's workers end with os._exit, past atexit: the training process is let go here
    shutdown_pools()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    keep_large_blocks()  # large answers reuse freed heap (app/http/memory.py)
    app = FastAPI(
        title="Gatescope",
        version=__version__,
        summary="Every gate of an LSTM, GRU or RNN, step by step.",
        root_path=settings.root_path,
        docs_url=None,  # /docs is app.web.pages.api_docs: Swagger UI vendored, no CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    if settings.kernel != "numpy":
        warm_up_in_background()  # compile numba's kernel before the first trace needs it
    install_error_handlers(app)
    install_security(app, settings)
    if settings.cors_origins:  # closed by default: no CORS headers at all
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "X-Delete-Token", "X-Gatescope-Key", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(ObservabilityMiddleware)  # outermost: times and logs everything
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(pages_router)
    app.include_router(learn_router)
    app.include_router(train_page_router)
    static = VersionedStaticFiles(STATIC_DIR)
    app.state.asset_version = static.version  # the pages link /static/<version>/...
    app.mount("/static", static, name="static")
    return app
