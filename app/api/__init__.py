"""The REST API, version 1."""

from fastapi import APIRouter

from app.api.trace import trace_router

api_router = APIRouter()
api_router.include_router(trace_router)
