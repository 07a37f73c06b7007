"""`gatescope serve` as an operator runs it: a real process configured only by GATESCOPE_*
environment variables, its log written to a file the tests read."""

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
            self.proc.kill()
            raise
        log = self.log_path.read_text(errors="replace")
        return code in (0, -signal.SIGTERM) and "Finished server process" in log


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
            [sys.executable, "-m", "app.cli", "serve"], cwd=REPO, env=full, stderr=sink
        )
    served = Served(proc, f"http://127.0.0.1:{port}", data, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                return served
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
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
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()
