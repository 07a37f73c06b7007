"""WebSocket /api/v1/step: live stepping, one input per message, the state kept on the socket.

Protocol (JSON text frames; every client message gets exactly one answer):
  -> {"type": "open", "model": REF, "h0"?, "c0"?, "dtype"?}   <- {"type": "ready", sizes, vocab}
  -> {"type": "step", "token": "a"} or {"type": "step", "input": [x_1 .. x_D]}
                                     <- {"type": "step", "step": t, "token"?, "layers": [...]}
  -> {"type": "back"}   (undo the last step)  <- {"type": "back", "step": steps now}
  -> {"type": "reset"}  (back to h0, c0)      <- {"type": "reset", "step": 0}
Errors answer {"type": "error", "error": code, "message": ...} and leave the session as it
was; a message over the size limit closes the socket (1009).
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, WebSocket
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from app.api.deps import settings_of, store_of
from app.api.encoding import array_json, check_finite
from app.api.errors import ApiError, location
from app.api.resolve import Model, resolve_model, states, tokenize, within_range
from app.api.schemas import StepControl, StepInput, StepMessage, StepOpen
from app.api.ws_frames import TOO_BIG, Oversized, receive_text
from app.config import Settings
from app.engine import EngineError, State, initial_state, step
from app.store import StoreError

log = logging.getLogger("gatescope.api")
step_router = APIRouter(tags=["step"])
_MESSAGES: TypeAdapter[StepOpen | StepInput | StepControl] = TypeAdapter(StepMessage)


@dataclass
class Session:
    model: Model
    dtype: str
    history: list[State]  # history[k]: the state after k steps; history[0] is h0 (and c0)
    tokens: list[str | None] = field(default_factory=list)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": code, "message": message}


def _open(msg: StepOpen, settings: Settings, app_state: Any) -> tuple[Session, dict[str, Any]]:
    model = resolve_model(msg.model, settings, store_of(app_state))
    h0, c0 = states(model, msg.h0, msg.c0)
    start = initial_state(model.cell, model.params, h0, c0, dtype=np.dtype(msg.dtype))
    reply = {
        "type": "ready",
        "cell": model.cell,
        "input_size": model.input_size,
        "hidden_size": model.hidden_size,
        "num_layers": model.num_layers,
        **({"proj_size": model.proj_size} if model.proj_size else {}),
        "vocab": model.vocab,
        "dtype": msg.dtype,
        "step": 0,
    }
    return Session(model, msg.dtype, [start]), reply


def _advance(session: Session, msg: StepInput, settings: Settings) -> dict[str, Any]:
    model = session.model
    taken = len(session.history) - 1
    if taken >= settings.max_steps:
        raise ApiError(
            413,
            "limit_exceeded",
            f"the live sequence has {taken} steps, the limit is {settings.max_steps}; send reset",
            "step",
        )
    if msg.token is not None:
        if model.vocab is None:
            raise ApiError(422, "no_vocabulary", "this model has no vocabulary; send input")
        ids = tokenize(msg.token, model.vocab, "token")
        if len(ids) != 1:
            raise ApiError(422, "not_one_token", f"token {msg.token!r} is {len(ids)} tokens")
        x = np.zeros(model.input_size)
        x[ids[0]] = 1.0
    else:
        assert msg.input is not None
        if len(msg.input) != model.input_size:
            raise ApiError(
                422,
                "shape_mismatch",
                f"input has {len(msg.input)} numbers, expected {model.input_size}",
                "input",
            )
        x = within_range(np.asarray(msg.input, dtype=np.float64), "input")
    new, fields, probs = step(model.cell, model.params, x, session.history[-1],
                              readout=model.readout, dtype=np.dtype(session.dtype))  # fmt: skip
    for k, layer in enumerate(fields):
        for name, value in layer.items():
            check_finite(f"layers[{k}].{name}", value)
    session.history.append(new)
    session.tokens.append(msg.token)
    reply: dict[str, Any] = {
        "type": "step",
        "step": taken,
        "cell": model.cell,
        "input_size": model.input_size,
        "layers": [{k: array_json(v, session.dtype) for k, v in f.items()} for f in fields],
    }
    if msg.token is not None:
        reply["token"] = msg.token
    if probs is not None:
        reply["readout"] = {"probs": array_json(probs, session.dtype)}
    return reply


async def _answer(
    message: StepOpen | StepInput | StepControl,
    session: Session | None,
    settings: Settings,
    app_state: Any,
) -> tuple[Session | None, dict[str, Any]]:
    if isinstance(message, StepOpen):
        return await run_in_threadpool(_open, message, settings, app_state)
    if session is None:
        return None, _error("not_open", 'open a model first: {"type": "open", "model": {...}}')
    if isinstance(message, StepInput):
        return session, await run_in_threadpool(_advance, session, message, settings)
    if message.type == "back" and len(session.history) > 1:
        session.history.pop()
        session.tokens.pop()
    elif message.type == "reset":
        del session.history[1:], session.tokens[:]
    return session, {"type": message.type, "step": len(session.history) - 1}


@step_router.websocket("/step")
async def step_socket(ws: WebSocket) -> None:
    settings = settings_of(ws.app.state)
    await ws.accept()
    session: Session | None = None
    while True:
        try:
            data = await receive_text(ws, settings.max_ws_message_bytes)
        except Oversized as exc:
            await ws.send_text(orjson.dumps(_error("limit_exceeded", str(exc))).decode())
            await ws.close(code=TOO_BIG)
            return
        if data is None:
            return
        try:
            message = _MESSAGES.validate_json(data)
            session, reply = await _answer(message, session, settings, ws.app.state)
        except ValidationError as exc:
            first = exc.errors()[0]
            reply = _error("validation_error", f"{location(first['loc'])}: {first['msg']}")
        except ApiError as exc:
            reply = _error(exc.code, exc.message)
        except StoreError as exc:
            reply = _error(exc.code, exc.message)
        except EngineError as exc:
            reply = _error("invalid_input", str(exc))
        except Exception:  # never drop the connection over a bug; it is logged
            log.exception("live step failed")
            reply = _error("internal_error", "something went wrong on our side; it was logged")
        await ws.send_text(orjson.dumps(reply, option=orjson.OPT_SERIALIZE_NUMPY).decode())
