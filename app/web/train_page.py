"""The /train page (issue 17, "Watch it learn"): the form and views for WebSocket /api/v1/train.

The race's defaults and the server's bounds are rendered into the page from TrainStart's
fields and the settings, so the page never repeats them: whatever main's defaults are, a
bare /train starts that race, and a permalink carries every setting explicitly.
"""

from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.deps import settings_of
from app.api.train_schemas import TrainCell, TrainStart, TrainTask
from app.web.learn import learn_context
from app.web.pages import templates

train_page_router = APIRouter(include_in_schema=False)

FIELDS = ("task", "gap", "cells", "hidden", "lr", "batch", "seed", "steps", "every", "forget_bias")


def train_defaults() -> dict[str, Any]:
    """TrainStart's default for each field of the form (cells from its default factory)."""
    fields = TrainStart.model_fields
    return {
        name: fields[name].get_default(call_default_factory=True)
        for name in FIELDS
        if name in fields  # a field the server does not have is left to it
    }


def train_bounds(request: Request) -> dict[str, int]:
    settings = settings_of(request.app.state)
    return {
        "hidden": settings.train_max_hidden,
        "batch": settings.train_max_batch,
        "gap": settings.train_max_gap,
        "steps": settings.train_max_steps,
        "cells": settings.train_runs_per_connection,
    }


@train_page_router.get("/train", response_class=HTMLResponse)
async def train_page(request: Request) -> HTMLResponse:
    config = {
        "defaults": train_defaults(),
        "bounds": train_bounds(request),
        "tasks": list(get_args(TrainTask)),
        "cells": list(get_args(TrainCell)),
    }
    ctx = learn_context(request, nav="train", train_config=config)
    return templates.TemplateResponse(request, "train.html", ctx)
