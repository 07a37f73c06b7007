"""A non-editable install serves the same pages: build the wheel, install it elsewhere, run it."""

import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.slow
_STANDALONE = """
import sys, numpy as np, gatescope
from app.engine import init_params, run_trace
from gatescope.result import from_engine
tr = from_engine(run_trace("gru", init_params("gru", 2, 3, 1, 0), np.ones((4, 2))), None, None)
page = tr.save_html("t.html").read_text()
assert 'id="gatescope-trace"' in page and "data:text/javascript;base64," in page
assert not {"torch", "keras", "onnx", "IPython", "httpx"} & set(sys.modules), sys.modules
print(gatescope.__file__)
"""


def test_wheel_installs_and_serves_pages_static_and_health(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("gatescope-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True)

    port = free_port()
    workdir = tmp_path / "elsewhere"  # outside the checkout, so nothing is found by accident
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [str(env_dir / "bin" / "gatescope"), "serve", "--port", str(port)], cwd=workdir, env=env
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                health = httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the installed server never answered")
        assert health.json()["status"] == "ok"
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and 'id="lstm-chain"' in page.text
        js = httpx.get(f"{url}/static/js/main.js")
        assert js.status_code == 200 and "drawChain" in js.text
        assert (
            str(REPO)
            not in subprocess.run(
                [str(py), "-c", "import app.paths as p; print(p.STATIC_DIR)"],
                cwd=workdir,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        # gatescope, the Python package, is in the wheel and builds its page from the wheel's
        # static files; importing it imports no framework
        made = subprocess.run(
            [str(py), "-c", _STANDALONE], cwd=workdir, capture_output=True, text=True, env=env
        )
        assert made.returncode == 0, made.stderr
        assert str(REPO) not in made.stdout and "site-packages/gatescope" in made.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)
