"""GET /metrics: Prometheus text format (request counts and latencies, trace time, models)."""

import os
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from app.api.deps import store_of
from app.http.observability import MULTIPROC_ENV
from app.store import ModelStore

metrics_router = APIRouter(tags=["health"])


class StoreCollector(Collector):
    """Counts the store's models at scrape time, so every worker reports the same numbers."""

    def __init__(self, store: ModelStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        try:
            status = self.store.status()
        except OSError:
            return  # an unreadable folder shows as missing series; /readyz says why
        models = GaugeMetricFamily(
            "gatescope_models_stored", "Models the store holds, by source.", labels=["source"]
        )
        models.add_metric(["builtin"], status["builtin"])
        models.add_metric(["upload"], status["uploaded"])
        yield models
        yield GaugeMetricFamily(
            "gatescope_store_bytes", "Bytes of uploaded model files.", value=status["bytes"]
        )


def _render(store: ModelStore) -> bytes:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # sums the workers
    else:
        registry = REGISTRY
    own = CollectorRegistry(auto_describe=False)
    own.register(StoreCollector(store))
    return generate_latest(registry) + generate_latest(own)


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus scrape endpoint."""
    body = await run_in_threadpool(_render, store_of(request.app.state))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
