"""Live runs in a training process of their own, at a lower CPU priority than the server.

Training in the server process's threads held its GIL: while 10 runs trained, a small trace's
p99 went from 84 to 311 ms (bench/train_load_bench.py). So each server process hands its live
runs to one child process, started on first use (spawn, not fork: the server has threads),
niced and in the SCHED_IDLE class, so the server's own requests come first and training takes
what is left of the CPU. The child keeps every run it was given in a dict by key and does one
call at a time: chunks of different connections take turns in the order they were asked for.

If the child dies (killed, out of memory), every run it held is lost: calls raise RunsLost and
the next call starts a new child.
"""

import asyncio
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:  # the child imports the engine only once it is niced (see _create)
    from app.training.config import TrainConfig
    from app.training.live_run import LiveRun
    from app.training.model import Model

ORPHAN_CHECK_S = 1.0
_RUNS: dict[str, "LiveRun"] = {}  # in the child: every run it holds
_NOTES: dict[str, tuple[int, list[dict[str, Any]]]] = {}  # run key -> (step, its unit notes)


class RunsLost(RuntimeError):
    """The training process died; the runs it held are gone."""


@dataclass(frozen=True)
class Chunk:
    """What a call into the child answers: the updates it did, and the run's snapshot now as
    JSON (made in the child, so the server only forwards it) with its curve's point."""

    done: int
    steps_done: int
    snapshot_json: bytes  # a JSON object: LiveRun.snapshot()
    point: tuple[int, float | None, float | None]  # step, loss, held-out accuracy


def _chunk(run: "LiveRun", done: int) -> Chunk:
    snap = run.snapshot()
    point = (snap["step"], snap["loss"], snap["held_out"].get("accuracy"))
    return Chunk(done, run.steps_done, orjson.dumps(snap, option=orjson.OPT_SERIALIZE_NUMPY), point)


# -- in the child ----------------------------------------------------------------------------
def _start_child(nice: int, parent: int, kernel: str, idle: bool = True) -> None:
    """Niced, and (idle) in Linux's SCHED_IDLE class; ended by its server process alone: a
    signal to the whole process group (Ctrl-C, a supervisor's SIGTERM) goes past it, and when
    its server dies (killed outright, say) it sees that within a second and exits, so no
    training process is left behind."""
    os.nice(nice)
    if idle:
        _idle_class()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    if kernel == "numpy":  # the server's GATESCOPE_KERNEL holds for its training too
        from app.engine.kernel import allow_compiled

        allow_compiled(False)


def _idle_class() -> None:
    """SCHED_IDLE, not just nice 19: a CPU busy with nice-19 training looks busy to the
    scheduler, so a woken worker was placed behind other work, and under EEVDF it waited out
    the nice-19 task's slice (a few ms on every wake-up, at every hop of a request). A CPU
    running only SCHED_IDLE tasks counts as idle, and a woken worker preempts them at once.
    Threads started later (numba's, the watchdog) inherit the class. Where it is not
    allowed or not Linux, the nice value alone holds."""
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(1)


def _create(key: str, config: "TrainConfig", horizon: int | None) -> tuple[int, Chunk]:
    from app.training.live_run import LiveRun

    run = LiveRun(config, horizon)
    _RUNS[key] = run
    _NOTES.pop(key, None)
    return run.horizon, _chunk(run, 0)


def _advance(key: str, n: int) -> Chunk:
    run = _RUNS[key]
    todo = max(0, min(n, run.horizon - run.steps_done))
    if todo:
        run.step(todo)
    return _chunk(run, todo)


def _export_of(key: str) -> tuple["Model", list[dict[str, Any]]]:
    """The run's weights now, and the units worth looking at in them (as a trained model's
    record names them: app/training/units.py), found here rather than in the server. The
    notes (a few hundred ms of held-out traces) are kept per step: "Save" after "Open in
    explorer" asks twice for the same weights."""
    from threadpoolctl import threadpool_limits

    from app.training.units import find_units

    run = _RUNS[key]
    kept = _NOTES.get(key)
    if kept is None or kept[0] != run.steps_done:
        with threadpool_limits(limits=1):
            notes = find_units(run.trainer.task, run.trainer.model, run.config.seed)
        kept = _NOTES[key] = (run.steps_done, [note.to_dict() for note in notes])
    return run.trainer.model, kept[1]


def _drop(keys: list[str]) -> None:
    for key in keys:
        _RUNS.pop(key, None)
        _NOTES.pop(key, None)


# -- in the server ---------------------------------------------------------------------------
class TrainingPool:
    """The server process's handle on its training child; every method is async."""

    def __init__(self, nice: int, kernel: str = "auto", idle: bool = True) -> None:
        self.nice, self.kernel, self.idle = nice, kernel, idle
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child,
                    initargs=(self.nice, os.getpid(), self.kernel, self.idle),
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

    async def create(
        self, key: str, config: "TrainConfig", horizon: int | None
    ) -> tuple[int, Chunk]:
        result: tuple[int, Chunk] = await self._call(_create, key, config, horizon)
        return result

    async def advance(self, key: str, n: int) -> Chunk:
        chunk: Chunk = await self._call(_advance, key, n)
        return chunk

    async def export_of(self, key: str) -> tuple["Model", list[dict[str, Any]]]:
        """The run's weights and their unit notes."""
        found: tuple[Model, list[dict[str, Any]]] = await self._call(_export_of, key)
        return found

    async def drop(self, keys: list[str]) -> None:
        if keys and self._executor is not None:
            with contextlib.suppress(RunsLost):  # gone with the child already
                await self._call(_drop, keys)

    def shutdown(self) -> None:
        """Let the child go once the call in flight (one chunk) is done."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_SHARED: dict[tuple[int, str, bool], TrainingPool] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(nice: int, kernel: str = "auto", idle: bool = True) -> TrainingPool:
    """This process's pool (one training child per server process, whatever apps it runs)."""
    with _SHARED_LOCK:
        if (nice, kernel, idle) not in _SHARED:
            _SHARED[nice, kernel, idle] = TrainingPool(nice, kernel, idle)
        return _SHARED[nice, kernel, idle]


def shutdown_pools() -> None:
    with _SHARED_LOCK:
        pools = list(_SHARED.values())
    for pool in pools:
        pool.shutdown()
