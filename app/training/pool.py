"""Live runs in a training process of their own, at a lower CPU priority than the server.

Training in the server process's threads held its GIL: while 10 runs trained, a small trace's
p99 went from 84 to 311 ms (bench/train_load_bench.py). So each server process hands its
live runs to one child process, started on first use (spawn, not fork: the server has
threads) and niced, so the server's own requests come first and training takes what is left
of the CPU. The child keeps every run it was given in a dict by key and does one call at a
time: chunks of different connections take turns in the order they were asked for.

If the child dies (killed, out of memory), every run it held is lost: calls raise RunsLost and
the next call starts a new child.
"""

import asyncio
import contextlib
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from app.training.config import TrainConfig
from app.training.live_run import LiveRun
from app.training.model import Model

_RUNS: dict[str, LiveRun] = {}  # in the child: every run it holds


class RunsLost(RuntimeError):
    """The training process died; the runs it held are gone."""


@dataclass(frozen=True)
class Chunk:
    """What a call into the child answers: the updates it did and the run's snapshot now."""

    done: int
    steps_done: int
    snapshot: dict[str, Any]


# -- in the child ----------------------------------------------------------------------------
def _lower_priority(nice: int) -> None:
    os.nice(nice)


def _create(key: str, config: TrainConfig, horizon: int | None) -> tuple[int, Chunk]:
    run = LiveRun(config, horizon)
    _RUNS[key] = run
    return run.horizon, Chunk(0, 0, run.snapshot())


def _advance(key: str, n: int) -> Chunk:
    run = _RUNS[key]
    todo = max(0, min(n, run.horizon - run.steps_done))
    if todo:
        run.step(todo)
    return Chunk(todo, run.steps_done, run.snapshot())


def _model(key: str) -> Model:
    return _RUNS[key].trainer.model


def _drop(keys: list[str]) -> None:
    for key in keys:
        _RUNS.pop(key, None)


# -- in the server ---------------------------------------------------------------------------
class TrainingPool:
    """The server process's handle on its training child; every method is async."""

    def __init__(self, nice: int) -> None:
        self.nice = nice
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_lower_priority,
                    initargs=(self.nice,),
                )
            return self._executor

    async def _call(self, fn: Any, *args: Any) -> Any:
        pool = self._pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool as exc:
            with self._lock:
                if self._executor is pool:
                    self._executor = None
            raise RunsLost("the training process stopped; its runs are lost") from exc

    async def create(self, key: str, config: TrainConfig, horizon: int | None) -> tuple[int, Chunk]:
        result: tuple[int, Chunk] = await self._call(_create, key, config, horizon)
        return result

    async def advance(self, key: str, n: int) -> Chunk:
        chunk: Chunk = await self._call(_advance, key, n)
        return chunk

    async def model(self, key: str) -> Model:
        model: Model = await self._call(_model, key)
        return model

    async def drop(self, keys: list[str]) -> None:
        if keys and self._executor is not None:
            with contextlib.suppress(RunsLost):  # gone with the child already
                await self._call(_drop, keys)

    def shutdown(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None


_SHARED: dict[int, TrainingPool] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(nice: int) -> TrainingPool:
    """This process's pool (one training child per server process, whatever apps it runs)."""
    with _SHARED_LOCK:
        if nice not in _SHARED:
            _SHARED[nice] = TrainingPool(nice)
        return _SHARED[nice]
