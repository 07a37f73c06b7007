"""HTML pages, rendered from templates/ in the reader's language (en or zh)."""

import json
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.routing import Match

from app import __version__
from app.api.schemas import TraceRequest
from app.paths import STATIC_DIR, TEMPLATES_DIR

LANGUAGES = ("en", "zh")
I18N_DIR = STATIC_DIR / "i18n"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


@pass_context
def _url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> str:
    """Root-relative links ("/gatescope/static/css/app.css"). Starlette's absolute ones carry
    the Host header's name and the scheme the app sees, which behind a proxy that rewrites
    Host (nginx's default) are the backend's, not the reader's. Static files are linked
    under the current content version (app/web/assets.py)."""
    request: Request = context["request"]
    if name == "static":
        path_params["path"] = f"{request.app.state.asset_version}/{path_params['path']}"
    return request.url_for(name, **path_params).path


templates.env.globals["url_for"] = _url_for
pages_router = APIRouter(include_in_schema=False)


@lru_cache
def catalogue(lang: str) -> dict[str, str]:
    """The message catalogue static/i18n/<lang>.json: flat keys to strings."""
    data: dict[str, str] = json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def pick_language(request: Request) -> str:
    """?lang= wins (the toggle keeps it in the URL); otherwise the browser's Accept-Language."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def _other_language_href(request: Request, lang: str) -> str:
    query = dict(request.query_params)
    query["lang"] = "en" if lang == "zh" else "zh"
    return "?" + urlencode(query)


def _serves(request: Request, kind: str, path: str) -> bool:
    """Whether the app routes a request of this kind (http, websocket) and path."""
    scope = {"type": kind, "path": path, "root_path": "", "method": "GET", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.routes)


def api_features(request: Request) -> dict[str, bool]:
    """Which optional API parts this server has, so the page calls only what exists."""
    return {
        "models": _serves(request, "http", "/api/v1/models"),
        "live": _serves(request, "websocket", "/api/v1/step"),
        "clamp": "clamp" in TraceRequest.model_fields,
    }


def page_context(request: Request) -> dict[str, Any]:
    lang = pick_language(request)
    messages = catalogue(lang)

    def t(key: str) -> str:
        return messages.get(key, key)

    return {
        "version": __version__,
        "lang": lang,
        "t": t,
        "messages": messages,
        "other_lang_href": _other_language_href(request, lang),
        "features": api_features(request),
    }


@pages_router.get("/", response_class=HTMLResponse)
async def explorer(request: Request) -> HTMLResponse:
    context = {**page_context(request), "site_nav": True}
    return templates.TemplateResponse(request, "explorer.html", context)


@pages_router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI from static/vendor (FastAPI's own page loads it from a CDN with an inline
    script, which the site's Content-Security-Policy forbids)."""
    openapi_url = request.scope.get("root_path", "") + (request.app.openapi_url or "")
    return templates.TemplateResponse(request, "api_docs.html", {"openapi_url": openapi_url})
