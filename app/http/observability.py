"""What an operator sees: access logs with a request id, log formats, Prometheus metrics.

Every HTTP request gets an id (the client's ``X-Request-ID`` when it is a short safe token,
else a fresh one), echoed in the response header and carried by every log line written while
the request runs. One access line per request goes to the ``gatescope.access`` logger.

Metrics live in prometheus-client's registry. With several worker processes each worker has
its own counters, so ``gatescope serve`` points PROMETHEUS_MULTIPROC_DIR at a fresh folder
before the workers start (``prepare_metrics_dir``) and /metrics sums the workers' files.
"""

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # nothing that could forge a log line
request_id_var: ContextVar[str | None] = ContextVar("gatescope_request_id", default=None)
access_log = logging.getLogger("gatescope.access")
_PROBES = ("/healthz", "/readyz", "/metrics")  # successful ones are logged at debug level

REQUESTS = Counter(
    "gatescope_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "gatescope_http_request_duration_seconds",
    "Time from request to the last byte of the response, by method and route template.",
    ["method", "route"],
)
TRACE_COMPUTE = Histogram(
    "gatescope_trace_compute_seconds",
    "Engine time of one trace (the forward pass only, not parsing or encoding), by cell.",
    ["cell"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


@contextlib.contextmanager
def observe_trace(cell: str) -> Iterator[None]:
    """Time a block of engine work into gatescope_trace_compute_seconds{cell}."""
    start = time.perf_counter()
    try:
        yield
    finally:
        TRACE_COMPUTE.labels(cell=cell).observe(time.perf_counter() - start)


def route_template(scope: Scope, route_path: str, root_path: str) -> str:
    """The matched route's path template, so /api/v1/models/{model_id} is one series.

    ``route_path`` and ``root_path`` are the request's, taken before routing. A route knows
    only its own path ("/models/{model_id}"), not the prefixes of the routers it was
    included through: those are the part of the request path in front of what it matched.
    """
    route = scope.get("route")
    if route is None and "endpoint" not in scope:
        return _template_not_reached(scope, route_path) or "unmatched"
    pattern = getattr(route, "path_regex", None)
    if route is not None and pattern is not None:
        starts = [0] + [i for i, ch in enumerate(route_path) if ch == "/" and i > 0]
        for i in starts:
            if pattern.match(route_path[i:]):
                return route_path[:i] + str(getattr(route, "path", ""))
    mounted = str(scope.get("root_path", ""))
    if route is None and "endpoint" in scope and mounted.startswith(root_path):
        return f"{mounted[len(root_path) :]}/{{path}}"  # a Mount (static files)
    return "unmatched"


def _template_not_reached(scope: Scope, route_path: str) -> str | None:
    """The route a request was meant for when a guard answered it before routing (a 413, a
    429, a queue's 503), so those count under their route and not as "unmatched". The
    templates come from the app's OpenAPI paths, compiled once per app."""
    app: Any = scope.get("app")
    state = getattr(app, "state", None)
    if state is None or not hasattr(app, "openapi"):
        return None
    patterns = getattr(state, "route_patterns", None)
    if patterns is None:
        patterns = [(_template_regex(p), p) for p in app.openapi().get("paths", {})]
        state.route_patterns = patterns
    return next((p for regex, p in patterns if regex.fullmatch(route_path)), None)


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)  # "/models/{model_id}": a path parameter
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


class ObservabilityMiddleware:
    """Request id, access log line and request metrics for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        # Not reset at the end: the error handler of an unhandled exception and the server's
        # own report of it run after this middleware, in the request's task (whose context
        # dies with it), and their log lines should carry the id too.
        request_id_var.set(request_id)
        path, method = scope["path"], scope["method"]
        root_path = str(scope.get("root_path", ""))
        inside = path.startswith(root_path + "/") if root_path else False
        route_path = path[len(root_path) :] if inside else path  # path as the routes see it
        status = 500  # unless a response starts
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = route_template(scope, route_path, root_path)
            REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            LATENCY.labels(method=method, route=route).observe(elapsed)
            client = scope.get("client")
            quiet = route in _PROBES and status < 400  # polled every few seconds
            access_log.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %d %.1f ms",
                method,
                path,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "client": client[0] if client else None,
                },
            )


# -- logging ----------------------------------------------------------------------------------
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
_RECORD_FIELDS |= {"message", "asctime", "color_message"}  # color_message: uvicorn's ANSI copy


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class WorkerDeathFilter(logging.Filter):
    """uvicorn's supervisor says "Child process [N] died" at info level. A worker dies that
    way only when something killed it, most often the kernel's OOM killer (SIGKILL) in a
    container at its memory limit: an operator must see that, so it becomes an error."""

    _DIED = re.compile(r"Child process \[(\d+)\] died")

    def filter(self, record: logging.LogRecord) -> bool:
        found = self._DIED.fullmatch(record.getMessage())
        if found:
            record.levelno, record.levelname = logging.ERROR, "ERROR"
            record.msg = (
                f"worker process [{found.group(1)}] died: it was killed, most likely with "
                "SIGKILL by the kernel's out-of-memory killer (see `dmesg` or `docker inspect "
                "--format '{{.State.OOMKilled}}'`); its requests were lost and a new worker "
                "takes its place. Lower GATESCOPE_WORKERS or raise the memory limit."
            )
            record.args = ()
            record.__dict__.pop("color_message", None)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value  # extras: request_id, method, route, status...
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def log_config(level: str, fmt: str) -> dict[str, Any]:
    """logging.dictConfig for uvicorn's ``log_config``: applied in every worker process."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": f"{__name__}.RequestIdFilter"},
            "worker_death": {"()": f"{__name__}.WorkerDeathFilter"},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "gatescope": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"filters": ["worker_death"]},  # the supervisor logs there
            # Our middleware writes the access lines (with the request id and route).
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


# -- metrics across worker processes ----------------------------------------------------------
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir(workers: int) -> str | None:
    """Before uvicorn forks its workers: give them one folder for their metric files.

    An operator's PROMETHEUS_MULTIPROC_DIR is used as given (its stale ``*.db`` files from an
    earlier run are removed); otherwise, with more than one worker, a fresh temporary folder.
    Returns the folder this call created (the caller removes it on exit), or None.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.unlink(os.path.join(given, name))
        return None
    if workers <= 1:
        return None
    folder = tempfile.mkdtemp(prefix="gatescope-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    return folder


def remove_metrics_dir(folder: str | None) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(MULTIPROC_ENV, None)
