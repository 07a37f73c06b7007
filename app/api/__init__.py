"""The REST API, version 1."""

from fastapi import APIRouter

from app.api.gradients import gradients_router
from app.api.models import models_router
from app.api.step import step_router
from app.api.trace import trace_router
from app.api.trace_html import trace_html_router
from app.api.train_ws import train_router

api_router = APIRouter()
api_router.include_router(trace_router)
api_router.include_router(trace_html_router)
api_router.include_router(gradients_router)
api_router.include_router(models_router)
api_router.include_router(step_router)
api_router.include_router(train_router)
