"""The training process: runs live in a niced child; if it dies the sockets say so and the
next start gets a new child."""

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.training.pool import shared_pool
from tests.api.test_train_ws import SMALL, send, start


def child_pids(nice: int, idle: bool = True) -> list[int]:
    executor = shared_pool(nice, Settings().kernel, idle)._executor
    assert executor is not None, "no training process was started"
    return list(executor._processes)  # type: ignore[attr-defined]


def test_runs_train_in_a_child_process_niced_below_the_server(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", train_nice=7)
    with TestClient(create_app(settings)).websocket_connect("/api/v1/train") as ws:
        start(ws, SMALL)
        [pid] = child_pids(7)
        assert pid != os.getpid()
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, mine + 7)


def thread_policies(pid: int) -> set[int]:
    """The scheduling class of every thread of a process (numba's and the watchdog too)."""
    return {os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


def test_the_training_process_runs_in_the_idle_class_unless_told_not_to(tmp_path: Path) -> None:
    for idle, want in ((True, os.SCHED_IDLE), (False, os.SCHED_OTHER)):
        settings = Settings(data_dir=tmp_path / "data", train_nice=6, train_sched_idle=idle)
        with TestClient(create_app(settings)).websocket_connect("/api/v1/train") as ws:
            start(ws, SMALL)
            send(ws, {"type": "step"})  # the engine (and numba's threads) loaded in the child
            assert json.loads(ws.receive_text())["type"] == "snapshot"
            [pid] = child_pids(6, idle)
            assert thread_policies(pid) == {want}
            mine = os.getpriority(os.PRIO_PROCESS, 0)
            assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, mine + 6)


def test_a_dead_training_process_is_reported_and_replaced(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", train_nice=3, train_max_runs=1)
    client = TestClient(create_app(settings))
    with client.websocket_connect("/api/v1/train") as ws:
        start(ws, SMALL)
        [pid] = child_pids(3)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid in child_pids(3) and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            time.sleep(0.05)
        send(ws, {"type": "step"})
        lost = ws.receive_json()
        assert lost["type"] == "error" and lost["code"] == "training_lost", lost
        assert "start again" in lost["message"]
        send(ws, {"type": "play"})
        assert ws.receive_json()["code"] == "not_started"
        # its place was given back (train_max_runs=1) and a new child trains the next start
        ready = start(ws, SMALL)[0]
        assert ready["type"] == "ready"
        send(ws, {"type": "step"})
        assert json.loads(json.dumps(ws.receive_json()))["step"] == 1
        assert child_pids(3) != [pid]


ORPHAN = """
import asyncio, os
from app.training.config import TrainConfig
from app.training.pool import TrainingPool
pool = TrainingPool(5)
config = TrainConfig(task="delayed-recall", cell="lstm", hidden=4, steps=4, max_gap=3)
asyncio.run(pool.create("k", config, None))
print(list(pool._executor._processes)[0], flush=True)
os._exit(0)  # as a worker killed outright: no shutdown, no atexit
"""


def test_a_training_process_whose_server_died_exits_by_itself() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", ORPHAN], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}"):
        assert time.monotonic() < deadline, "the orphaned training process is still running"
        time.sleep(0.1)


def test_unit_notes_are_found_once_per_step_of_a_run(monkeypatch: Any) -> None:
    # "Save" after "Open in explorer" asks for the same weights twice; the child's functions
    # are called here in-process, as the training process calls them
    from app.training import pool, units
    from app.training.config import TrainConfig

    calls: list[int] = []
    real = units.find_units

    def counted(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(units, "find_units", counted)
    config = TrainConfig("delayed-recall", "lstm", hidden=4, steps=6, lr=0.02)
    try:
        pool._create("test-notes", config, None)
        pool._advance("test-notes", 3)
        model, first = pool._export_of("test-notes")
        again, second = pool._export_of("test-notes")
        assert len(calls) == 1 and second == first and again is model
        assert first == [n.to_dict() for n in real(pool._RUNS["test-notes"].trainer.task,
                                                   model, config.seed)]  # fmt: skip
        pool._advance("test-notes", 1)  # new weights: found again
        pool._export_of("test-notes")
        assert len(calls) == 2
    finally:
        pool._drop(["test-notes"])
    assert "test-notes" not in pool._NOTES and "test-notes" not in pool._RUNS
