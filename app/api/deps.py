"""What handlers share: the settings, the model store, JSON parsing with orjson."""

import json
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import State

from app.config import Settings
from app.store import ModelStore
from app.store.builtin import load_builtins

_lock = threading.Lock()


def settings_of(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def store_of(state: State) -> ModelStore:
    """The app's store, made on first use from its settings (one per app and process)."""
    store: ModelStore | None = getattr(state, "store", None)
    if store is None:
        with _lock:
            store = getattr(state, "store", None)
            if store is None:
                settings = settings_of(state)
                store = ModelStore(
                    settings.data_dir,
                    builtins=load_builtins,
                    max_models=settings.max_stored_models,
                    max_bytes=settings.max_store_bytes,
                )
                state.store = store
    return store


class OrjsonRequest(Request):
    """Parses JSON bodies with orjson (several times faster than the json module on the
    big number arrays of a trace request)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = orjson.loads(body)
            except orjson.JSONDecodeError:
                # NaN / Infinity literals: the json module reads them, so that validation can
                # name the field that holds one; truly broken JSON fails here as well.
                self._json = json.loads(body)
        return self._json


class OrjsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(OrjsonRequest(request.scope, request.receive))

        return route
