"""Every error leaves as JSON: ``{"error": code, "message": text, "details": [...]}``."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.engine import EngineError
from app.store import StoreError

log = logging.getLogger("gatescope.api")

# Names pydantic puts into error locations for union members; they are not field names.
_UNION_TAGS = frozenset({"stored", "random", "inline", "unit", "xent", "mse_h", "mse_readout"})


class ApiError(Exception):
    """An error a handler raises on purpose, with its status and a message for the user."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or []}


def location(loc: tuple[Any, ...]) -> str:
    """("body", "model", "random", "inputs", 0, 1) -> "model.inputs[0][1]"."""
    out = ""
    previous: Any = None
    for part in loc:
        p = str(part)
        skip = (
            p == "body"
            or (p in _UNION_TAGS and previous in ("model", "loss"))
            or ("[" in p and not p.isdigit())  # a union member's type, e.g. list[float]
        )
        if not skip:
            out += f"[{p}]" if isinstance(part, int) or p.isdigit() else (f".{p}" if out else p)
        previous = p
    return out or "body"


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", ""))
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        msg = f"the body is not valid JSON ({reason})" if reason else "the body is not valid JSON"
    return msg


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    details = [
        {
            "field": location(tuple(e.get("loc", ()))),
            "message": _message(e),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    first = details[0] if details else {"field": "body", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}"
    return JSONResponse(error_body("validation_error", message, details), status_code=422)


def _field_details(field: str | None, message: str) -> list[dict[str, Any]]:
    return [{"field": field, "message": message}] if field else []


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    body = error_body(exc.code, exc.message, _field_details(exc.field, exc.message))
    return JSONResponse(body, status_code=exc.status)


async def _store_error(_: Request, exc: StoreError) -> JSONResponse:
    body = error_body(exc.code, exc.message, _field_details(exc.field, exc.message))
    return JSONResponse(body, status_code=exc.status)


async def _engine_error(_: Request, exc: EngineError) -> JSONResponse:
    body = error_body("invalid_input", str(exc), _field_details(exc.field, str(exc)))
    return JSONResponse(body, status_code=422)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    if "GET" in allowed and "HEAD" not in allowed:  # app.http.head answers HEAD wherever GET is
        allowed.insert(allowed.index("GET") + 1, "HEAD")
    return ", ".join(allowed)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    code = {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
    }.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers or None
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = error_body("internal_error", "something went wrong on our side; it has been logged")
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StoreError, _store_error)  # type: ignore[arg-type]
    app.add_exception_handler(EngineError, _engine_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
