"""The Learn walkthrough (/learn, one page per section of the article), /compare and /models.

Pages reuse the explorer's base template and language choice; their own strings live in
static/i18n/learn.<lang>.json, merged over the explorer's catalogue for the page.
"""

import json
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from app.web.pages import I18N_DIR, page_context, templates

learn_router = APIRouter(include_in_schema=False)

# The article's order: its figures 1-14 (../shared/notes/figures.md), with the unfinished
# "simple RNN and BPTT" section where the article puts it, completed, and the variants last.
SECTIONS: tuple[str, ...] = (
    "rnn-rolled",
    "rnn-unrolled",
    "simple-rnn-bptt",
    "short-term",
    "long-term",
    "simple-rnn-module",
    "lstm-chain",
    "notation",
    "cell-state",
    "gate",
    "focus-f",
    "focus-i",
    "focus-c",
    "focus-o",
    "variants",
)


@lru_cache
def learn_catalogue(lang: str) -> dict[str, str]:
    """static/i18n/learn.<lang>.json: flat keys to strings."""
    path = I18N_DIR / f"learn.{lang}.json"
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def api_paths(request: Request) -> dict[str, dict[str, Any]]:
    """The API's paths and methods, from the app's (cached) OpenAPI schema: included routers
    are not listed one by one in app.routes on recent FastAPI versions."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    return paths


def learn_context(request: Request, **extra: Any) -> dict[str, Any]:
    ctx = page_context(request)
    lang = ctx["lang"]
    messages = {**ctx["messages"], **learn_catalogue(lang)}

    def t(key: str, **values: Any) -> str:
        text = messages.get(key, key)
        return str(text.format(**values)) if values else str(text)

    root = request.scope.get("root_path", "").rstrip("/")

    def href(path: str, **query: Any) -> str:
        """An internal link that keeps the chosen language in the URL (root path aware)."""
        return f"{root}{path}?{urlencode({'lang': lang, **query})}"

    paths = api_paths(request)
    ctx.update(
        messages=messages,
        t=t,
        m=t,
        href=href,
        base_href=f"{root}/",
        has_gradients="post" in paths.get("/api/v1/gradients", {}),
        has_models="get" in paths.get("/api/v1/models", {}),
        has_upload="post" in paths.get("/api/v1/models", {}),
        sections=SECTIONS,
        **extra,
    )
    return ctx


@learn_router.get("/learn", response_class=HTMLResponse)
async def learn_index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "learn/index.html", learn_context(request, nav="learn")
    )


@learn_router.get("/learn/{section}", response_class=HTMLResponse)
async def learn_section(request: Request, section: str) -> HTMLResponse:
    if section not in SECTIONS:
        raise HTTPException(status_code=404, detail=f"no section {section!r}")
    k = SECTIONS.index(section)
    ctx = learn_context(
        request,
        nav="learn",
        section=section,
        number=k + 1,
        prev=SECTIONS[k - 1] if k > 0 else None,
        next=SECTIONS[k + 1] if k + 1 < len(SECTIONS) else None,
    )
    return templates.TemplateResponse(request, "learn/section.html", ctx)


@learn_router.get("/compare", response_class=HTMLResponse)
async def compare(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "compare.html", learn_context(request, nav="compare")
    )


@learn_router.get("/models", response_class=HTMLResponse)
async def models_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "models.html", learn_context(request, nav="models"))
