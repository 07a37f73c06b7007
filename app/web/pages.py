"""HTML pages, rendered from templates/."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.paths import TEMPLATES_DIR

templates = Jinja2Templates(directory=TEMPLATES_DIR)
pages_router = APIRouter(include_in_schema=False)


@pages_router.get("/", response_class=HTMLResponse)
async def explorer(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "explorer.html", {"version": __version__})
