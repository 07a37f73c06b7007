"""`gatescope serve` as an operator runs it: a real process configured only by GATESCOPE_*
environment variables, its log written to a file the tests read."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, free_port


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, data: Path, log: Path) -> None:
        self.proc, self.url, self.data_dir, self.log_path = proc, url, data, log

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def json_logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_lines() if line.startswith("{")]

    def terminate(self, timeout: float = 20) -> bool:
        """SIGTERM, as docker stop sends it; True when the server shut down cleanly.

        uvicorn finishes its graceful shutdown, then raises the signal again so the exit
        status says what stopped it: -SIGTERM here (as PID 1 in a container, the kernel
        ignores that and the exit code is 0, which the Docker smoke test checks).
        """
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        log = self.log_path.read_text(errors="replace")
        return code in (0, -signal.SIGTERM) and "Finished server process" in log

    def group(self) -> list[int]:
        """Live processes of the server's own process group: supervisor, workers, trackers."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields after the command: state, ppid, pgrp; zombies are already gone
            if int(fields[2]) == self.proc.pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
        return found

    def stop(self) -> None:
        """Kill the whole group, so no spawned worker or resource tracker outlives the test."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        # SIGKILL lands asynchronously: wait until the orphans are gone, not just signalled
        deadline = time.monotonic() + 10
        while self.group() and time.monotonic() < deadline:
            time.sleep(0.05)


def serve(tmp: Path, env: dict[str, str], data_dir: Path | None = None) -> Served:
    """Start `python -m app.cli serve` with `env` on a free port; wait for /healthz."""
    port = int(env.get("GATESCOPE_PORT", free_port()))
    data = data_dir or tmp / "data"
    log = tmp / f"server-{port}.log"
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GATESCOPE_")},
        "GATESCOPE_HOST": "127.0.0.1",
        "GATESCOPE_PORT": str(port),
        "GATESCOPE_DATA_DIR": str(data),
        **env,
    }
    full.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=REPO,
            env=full,
            stderr=sink,
            start_new_session=True,  # its own group, so stop() reaches every worker
        )
    served = Served(proc, f"http://127.0.0.1:{port}", data, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            served.stop()
            raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                return served
        except httpx.TransportError:
            time.sleep(0.1)
    served.stop()
    raise RuntimeError("server did not answer /healthz within 60 s")


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Any]:
    """launch(env) starts a configured server; all are stopped after the test."""
    started: list[Served] = []

    def _launch(env: dict[str, str], data_dir: Path | None = None) -> Served:
        served = serve(tmp_path, env, data_dir)
        started.append(served)
        return served

    yield _launch
    for served in started:
        served.stop()
