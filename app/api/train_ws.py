"""WebSocket /api/v1/train: watch a model learn; one or two runs trained side by side.

Protocol (JSON text frames; docs/train.md has the whole of it):
  -> {"type": "start", "task", "gap", "cells": [...], "hidden", "lr", "batch", "seed",
      "steps" (the schedule's horizon), "every" (updates between snapshots)}
                                   <- {"type": "ready", "runs": [...], "budget": {...}}
                                      then {"type": "snapshot", "run": k, ...} of step 0
  -> {"type": "play"}    <- a snapshot of every run each `every` updates, until
                            {"type": "finished"} (every run at its horizon), pause, or
                            {"type": "stopped", "run": k, "reason": "budget"}
  -> {"type": "pause"}   <- {"type": "paused", "step"} once the chunk in flight is done
  -> {"type": "step"}    (paused) one update of every run <- a snapshot of each
  -> {"type": "reset"}   back to step 0, same settings <- ready and snapshots of step 0
  -> {"type": "export", "run": k, "keep": "session" | "saved", "name"}   (paused) store the
     run's weights <- {"type": "exported", "run", "keep", "model_id", "name"(, "delete_token")}
     ("session" models are deleted when the connection closes)
A connection paused (or never played) with no message for train_idle_s seconds gets
{"type": "stopped", "reason": "idle"} and its runs are let go. Errors answer
{"type": "error", "code", "field", "message"} and leave the session as it was. The runs live in
the process's training child (app/training/pool.py), a chunk of `every` updates per call, so
the server's own requests are never held up by training.
"""

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError

from app.api.deps import settings_of, store_of
from app.api.errors import ApiError, location
from app.api.train_export import SessionModels
from app.api.train_runs import Race, Registry, check_limits, client_of, registry_of
from app.api.train_schemas import TrainControl, TrainExport, TrainMessage, TrainStart
from app.api.ws_frames import TOO_BIG, Oversized, receive_text
from app.config import Settings
from app.training.pool import RunsLost, TrainingPool, shared_pool

log = logging.getLogger("gatescope.api")
train_router = APIRouter(tags=["train"])
_MESSAGES: TypeAdapter[TrainStart | TrainControl | TrainExport] = TypeAdapter(TrainMessage)
_TAGS = tuple(f"{t}." for t in ("start", "play", "pause", "step", "reset", "export"))


def _error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"type": "error", "code": code, "field": field, "message": message}


async def _advance(race: Race, pool: TrainingPool, n: int) -> list[str]:
    """n updates of every live run (fewer at the horizon), then each one's snapshot."""
    out = []
    for k, run in enumerate(race.runs):
        if not race.stopped[k]:
            out.append(race.note(k, await pool.advance(run.key, n)))
    return out


class Session:
    """One connection: its race, whether it plays, and the task that drives it."""

    def __init__(self, ws: WebSocket, settings: Settings, registry: Registry, client: str):
        self.ws, self.settings, self.registry, self.client = ws, settings, registry, client
        self.models = SessionModels(store_of(ws.app.state), settings.train_session_models)
        self.pool = shared_pool(settings.train_nice, settings.kernel, settings.train_sched_idle)
        self.race: Race | None = None
        self.playing = False
        self.driver: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()

    async def send(self, message: dict[str, Any] | str) -> None:
        """A message, or one already JSON text (a snapshot from the training process)."""
        if isinstance(message, str):
            text = message
        else:
            text = orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY).decode()
        async with self.lock:
            await self.ws.send_text(text)

    def budget(self) -> dict[str, Any]:
        return {
            "run": self.settings.train_run_budget,
            "client": self.settings.train_client_budget,
            "client_spent": self.registry.spent_by(self.client),
        }

    async def release(self) -> None:
        self.playing = False
        if self.driver is not None:
            await self.driver
            self.driver = None
        if self.race is not None:
            race, self.race = self.race, None
            self.registry.give_back(sum(not s for s in race.stopped))
            await self.pool.drop(race.keys)

    async def start(self, msg: TrainStart) -> None:
        check_limits(msg, self.settings)
        await self.release()
        self.registry.take(len(msg.cells), self.settings)
        try:
            race, first = await Race.of(msg, self.pool)
        except BaseException:
            self.registry.give_back(len(msg.cells))
            raise
        self.race = race
        await self.send({"type": "ready", "runs": race.describe(), "budget": self.budget()})
        for snap in first:
            await self.send(snap)

    def over_budget(self, race: Race, n: int) -> list[int]:
        """Runs whose next n updates would pass their budget or their client's."""
        settings, registry = self.settings, self.registry
        out = []
        for k, run in enumerate(race.runs):
            if race.stopped[k]:
                continue
            cost = min(n, run.horizon - run.steps_done) * run.cost
            over_run = race.spent[k] + cost > settings.train_run_budget
            if over_run or not registry.spend(self.client, cost, settings.train_client_budget):
                out.append(k)
        return out

    async def chunk(self, n: int) -> bool:
        """n updates and their snapshots; False when nothing is left to train."""
        race = self.race
        assert race is not None
        for k in self.over_budget(race, n):
            race.stopped[k] = True
            self.registry.give_back(1)
            run = race.runs[k]
            await self.send({"type": "stopped", "run": k, "reason": "budget",
                             "step": run.steps_done, "spent": race.spent[k],
                             "budget": self.budget()})  # fmt: skip
        if race.finished:
            self.playing = False
            if not all(race.stopped):
                await self.send({"type": "finished", "step": self.step_now()})
            return False
        for snap in await _advance(race, self.pool, n):
            await self.send(snap)
        if race.finished:
            self.playing = False
            await self.send({"type": "finished", "step": self.step_now()})
            return False
        return True

    async def lost(self, exc: RunsLost) -> None:
        """The training process died: the runs are gone; say so, and free their places."""
        log.error("live training: %s", exc)
        if self.race is not None:
            self.registry.give_back(sum(not s for s in self.race.stopped))
            self.race = None
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # the client may be gone
            await self.send(_error("training_lost", f"{exc}; start again", "type"))

    def step_now(self) -> int:
        assert self.race is not None
        return max(r.steps_done for r in self.race.runs)

    async def drive(self) -> None:
        assert self.race is not None
        try:
            while self.playing and await self.chunk(self.race.start.every):
                pass
            if self.race is not None and not self.race.finished:
                await self.send({"type": "paused", "step": self.step_now()})
        except RunsLost as exc:
            self.playing = False
            await self.lost(exc)
        except (WebSocketDisconnect, RuntimeError):
            self.playing = False
        except Exception:
            log.exception("live training failed")
            self.playing = False
            await self.send(_error("internal_error", "something went wrong; it was logged"))

    async def answer(self, message: TrainStart | TrainControl | TrainExport) -> None:
        self.registry.heartbeat()  # a paused race kept alive by messages still counts
        if isinstance(message, TrainStart):
            await self.start(message)
            return
        if self.race is None:
            raise ApiError(409, "not_started", 'start a run first: {"type": "start"}', "type")
        if isinstance(message, TrainExport):
            if self.playing:
                raise ApiError(409, "playing", "the run is playing; pause it before exporting")
            race = self.race
            if not 0 <= message.run < len(race.runs):
                raise ApiError(422, "invalid_input", f"run is {message.run}; this race has runs "
                               f"0 to {len(race.runs) - 1}", "run")  # fmt: skip
            model, units = await self.pool.export_of(race.runs[message.run].key)
            await self.send(await asyncio.to_thread(self.models.export, self.settings, race,
                                                    message, model, units))  # fmt: skip
            return
        kind = message.type
        if kind == "play":
            if not self.playing:
                self.playing = True
                self.driver = asyncio.create_task(self.drive())
        elif kind == "pause":
            if self.playing:
                self.playing = False  # the driver answers "paused" after its chunk
            else:
                await self.send({"type": "paused", "step": self.step_now()})
        elif kind == "step":
            if self.playing:
                raise ApiError(409, "playing", "the run is playing; pause it before stepping")
            await self.chunk(1)
        else:  # reset
            await self.start(self.race.start)


@train_router.websocket("/train")
async def train_socket(ws: WebSocket) -> None:
    settings = settings_of(ws.app.state)
    registry = registry_of(ws.app.state, settings)
    await ws.accept()
    session = Session(ws, settings, registry, client_of(ws.scope, settings, ws.app.state))
    try:
        await _serve(session, settings)
    except WebSocketDisconnect:
        pass  # the page went away while we were answering it: nothing left to tell
    finally:
        try:
            await session.release()  # the client's spending stays: it lasts the process
        finally:
            # inline, not in a thread: it must run even when the handler is being cancelled
            session.models.close()


async def _serve(session: Session, settings: Settings) -> None:
    ws = session.ws
    while True:
        idle = not session.playing and session.race is not None
        try:
            timeout = settings.train_idle_s if idle else None
            data = await asyncio.wait_for(receive_text(ws, settings.max_ws_message_bytes), timeout)
        except TimeoutError:
            await session.release()
            await session.send({"type": "stopped", "reason": "idle"})
            continue
        except Oversized as exc:
            await session.send(_error("limit_exceeded", str(exc)))
            await ws.close(code=TOO_BIG)
            return
        if data is None:
            return
        try:
            await session.answer(_MESSAGES.validate_json(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = location(first["loc"])
            where = where.split(".", 1)[1] if where.startswith(_TAGS) else where
            await session.send(_error("validation_error", f"{where}: {first['msg']}", where))
        except ApiError as exc:
            await session.send(_error(exc.code, exc.message, exc.field))
        except RunsLost as exc:
            await session.lost(exc)
        except WebSocketDisconnect:
            raise  # the page left: not a bug for the catch-all below; train_socket ends it
        except ValueError as exc:  # TrainConfig's own checks
            await session.send(_error("invalid_input", str(exc)))
        except Exception:  # never drop the connection over a bug; it is logged
            log.exception("live training failed")
            await session.send(_error("internal_error", "something went wrong; it was logged"))
