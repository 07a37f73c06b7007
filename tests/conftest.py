"""Shared fixtures: a real uvicorn server on a free loopback port, and the browser set-up."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.chromium import CHROMIUM_ARGS, system_chromium

IN_CI = os.environ.get("CI") == "true"
REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine-kernel",
        choices=("auto", "numpy"),
        default="auto",
        help="numpy: run every test with the compiled kernel switched off (engine and servers)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--engine-kernel") == "numpy":
        from app.engine.kernel import allow_compiled

        allow_compiled(False)  # engine calls in this process
        os.environ["GATESCOPE_KERNEL"] = "numpy"  # every Settings() and every server started


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the kernel-off pass, the tests of the kernel-on path itself are deselected (not
    skipped: they ran in the first pass)."""
    if config.getoption("--engine-kernel") != "numpy":
        return
    keep = [item for item in items if item.get_closest_marker("kernel_on") is None]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


def skip_or_fail(reason: str) -> None:
    """Skip on a user's machine; in CI nothing may skip, so the same reason fails the run."""
    if IN_CI:
        pytest.fail(f"CI must not skip: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, url: str, proc: subprocess.Popen[bytes], data_dir: Path) -> None:
        self.url, self.proc, self.data_dir = url, proc, data_dir


def start_server(
    data_dir: Path, env: dict[str, str] | None = None, log: Path | None = None
) -> LiveServer:
    """A real uvicorn on a free port; its stderr goes to `log` when given, for a test to read."""
    port = free_port()
    full_env = {**os.environ, "GATESCOPE_DATA_DIR": str(data_dir), **(env or {})}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    err = log.open("wb") if log is not None else None
    proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stderr=err)
    if err is not None:
        err.close()  # the child holds its own copy
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return LiveServer(url, proc, data_dir)
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not answer /healthz within 30 s")


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("data"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """pytest-playwright's page fixture resolves relative URLs against this."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    path = system_chromium()
    if path is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            bundled = p.chromium.executable_path
        if not Path(bundled).exists():
            skip_or_fail(
                "no Chromium: install Debian's chromium or run 'playwright install chromium'"
            )
    extra = {"executable_path": path} if path else {}
    return {**browser_type_launch_args, **extra, "args": CHROMIUM_ARGS, "headless": True}
