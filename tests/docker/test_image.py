"""Smoke test of the image, run the way README "Deploy" says: build, run with a volume, wait
for the health check, trace, upload, restart on the same volume, trace the upload again,
then the same with `docker compose up`. Figures go to build/test-artefacts/docker-smoke.json.
"""

import io
import json
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from safetensors.numpy import save

from app.store import ModelStore
from app.store.builtin import load_builtins
from tests.conftest import REPO, free_port, skip_or_fail
from tests.docker.conftest import Engine, Image, write_artefact

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# The README's commands, as templates; tests/docker/test_dockerfile.py checks that README.md
# shows them with the defaults below.
BUILD = "docker build -t {image} ."
RUN = (
    "docker run -d --name {name} --network host -v {volume}:/data -e GATESCOPE_PORT={port} {image}"
)
COMPOSE_UP = "docker compose up -d"
DEFAULTS = {"image": "gatescope", "name": "gatescope", "volume": "gatescope-data", "port": 8000}
SIZE_TARGET_MB = 570  # 285 MB, numba's LLVM (210 MB, the compiled kernel) and onnx + h5py (50 MB)

D, H = 2, 3
INPUTS = [[0.5, -1.0], [0.25, 0.0], [-0.75, 0.5]]


def _lstm_weights() -> dict[str, np.ndarray]:
    """A small LSTM under PyTorch names, float32 (what torch.save_file would write)."""
    rng = np.random.default_rng(8)
    shapes = {
        "weight_ih_l0": (4 * H, D),
        "weight_hh_l0": (4 * H, H),
        "bias_ih_l0": (4 * H,),
        "bias_hh_l0": (4 * H,),
    }
    return {k: rng.uniform(-0.5, 0.5, s).astype(np.float32) for k, s in shapes.items()}


def _lstm_h(weights: dict[str, np.ndarray], inputs: list[list[float]]) -> np.ndarray:
    """PyTorch's LSTM (gate rows i, f, g, o) in float64: the hidden state at every step."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    h, c, out = np.zeros(H), np.zeros(H), []
    for x in np.asarray(inputs):
        z = w["weight_ih_l0"] @ x + w["bias_ih_l0"] + w["weight_hh_l0"] @ h + w["bias_hh_l0"]
        zi, zf, zg, zo = np.split(z, 4)
        i, f, o = (1 / (1 + np.exp(-a)) for a in (zi, zf, zo))  # input, forget, output gates
        c = f * c + i * np.tanh(zg)  # cell state: g = tanh(zg) is the candidate
        h = o * np.tanh(c)  # hidden state
        out.append(h)
    return np.array(out)


def _wait_healthy(engine: Engine, container: str, timeout: float = 90) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        state = json.loads(engine.run("inspect", "-f", "{{json .State}}", container).stdout)
        if state["Status"] == "exited":
            logs = engine.run("logs", container, check=False)
            pytest.fail(f"container exited ({state['ExitCode']}):\n{logs.stdout}{logs.stderr}")
        if state.get("Health", {}).get("Status") == "healthy":
            return time.monotonic() - start
        time.sleep(0.5)
    logs = engine.run("logs", container, check=False)
    pytest.fail(f"not healthy within {timeout} s:\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}")


def _trace(url: str, model: dict[str, object]) -> httpx.Response:
    res = httpx.post(f"{url}/api/v1/trace", json={"model": model, "inputs": INPUTS}, timeout=30)
    assert res.status_code == 200, res.text
    return res


def _counter(metrics: str, name: str, **labels: str) -> float:
    """The sample of `name` whose labels include `labels` (0 when absent)."""
    total = 0.0
    for line in metrics.splitlines():
        m = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            total += float(m.group(2))
    return total


def _server_uids(engine: Engine, container: str) -> list[int]:
    """The uid of every process in the container, as the host sees them (docker top)."""
    rows = engine.run("top", container, "-eo", "pid,uid,args").stdout.splitlines()[1:]
    return [int(row.split()[1]) for row in rows if row.strip()]


def test_image_builds_runs_keeps_models_and_stays_non_root(
    engine: Engine, image: Image, tmp_path: Path
) -> None:
    t0 = time.monotonic()
    suffix = uuid.uuid4().hex[:8]
    name, volume, port = f"gatescope-smoke-{suffix}", f"gatescope-smoke-{suffix}", free_port()
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, object] = {
        "image": image.tag,
        "base": image.base,
        "size_mb": round(image.size_bytes / 1e6, 1),
        "size_target_mb": SIZE_TARGET_MB,
        "build_seconds": round(image.build_seconds, 1),
    }
    run = RUN.format(image=image.tag, name=name, volume=volume, port=port).split()
    try:
        engine.run(*run[1:])
        figures["healthy_after_s"] = round(_wait_healthy(engine, name), 1)

        random_lstm = {"cell": "lstm", "input_size": D, "hidden_size": H, "seed": 0}
        first = _trace(url, random_lstm)
        assert first.headers["X-Request-ID"]
        assert len(first.json()["layers"][0]["h"]) == len(INPUTS)
        kernel = httpx.get(f"{url}/readyz", timeout=10).json()["kernel"]
        assert kernel["numba"] and kernel["failure"] is None, kernel  # compiled in /tmp
        assert 'desc="numba"' in first.headers["server-timing"]

        weights = _lstm_weights()
        upload = httpx.post(
            f"{url}/api/v1/models",
            files={"file": ("smoke.safetensors", io.BytesIO(save(weights)))},
            data={"cell": "lstm", "layout": "torch", "name": "smoke"},
            timeout=30,
        )
        assert upload.status_code in (200, 201), upload.text
        model_id = upload.json()["id"]
        before = _trace(url, {"id": model_id}).json()["layers"][0]["h"]
        np.testing.assert_allclose(before, _lstm_h(weights, INPUTS), rtol=1e-5, atol=1e-6)

        uids = _server_uids(engine, name)
        assert uids and all(uid == 10001 for uid in uids), uids
        assert engine.run("exec", name, "id", "-u").stdout.strip() == "10001"

        # docker stop sends SIGTERM: the server shuts down gracefully and exits 0.
        engine.run("stop", name)
        exit_code = engine.run("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        assert exit_code == "0", engine.run("logs", name, check=False).stderr[-2000:]
        engine.run("start", name)
        _wait_healthy(engine, name)
        after = _trace(url, {"id": model_id}).json()["layers"][0]["h"]
        assert after == before  # the upload survived the restart, bit for bit

        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        traced = _counter(
            metrics, "gatescope_http_requests_total", route="/api/v1/trace", status="200"
        )
        assert traced >= 1  # since the restart; the workers' counts are summed
        assert _counter(metrics, "gatescope_models_stored", source="upload") >= 1
        shipped = ModelStore(tmp_path, builtins=load_builtins).status()["builtin"]
        assert _counter(metrics, "gatescope_models_stored", source="builtin") == shipped
        assert _counter(metrics, "gatescope_trace_compute_seconds_count", cell="lstm") >= 1
        log_lines = engine.run("logs", name).stderr.splitlines()
        access = [json.loads(x) for x in log_lines if '"gatescope.access"' in x]
        assert any(a["route"] == "/api/v1/trace" and a["request_id"] for a in access)
        engine.run("rm", "-f", name)

        _compose_up_serves_the_same_model(engine, image, volume, model_id, before, figures)
    finally:
        engine.run("rm", "-f", name, check=False)
        engine.run("volume", "rm", "-f", volume, check=False)
        figures["smoke_seconds"] = round(time.monotonic() - t0, 1)
        path = write_artefact("docker-smoke.json", json.dumps(figures, indent=2) + "\n")
        print(f"\nimage {image.tag} on {image.base}: {figures} (written to {path})")
    assert image.size_bytes <= SIZE_TARGET_MB * 1e6, f"image is {figures['size_mb']} MB"


def compose_or_skip(engine: Engine) -> list[str] | None:
    """`docker compose`, else `docker-compose`; neither: skip (fail under CI) and None."""
    plugin = subprocess.run(["docker", "compose", "version"], env=engine.env, capture_output=True)
    compose = ["docker", "compose"] if plugin.returncode == 0 else _compose_command()
    if compose is None:
        skip_or_fail("neither `docker compose` nor `docker-compose` is installed")
    return compose


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]  # Compose v1 (Debian's package); same file, same `up -d`
    return None


def _compose_up_serves_the_same_model(
    engine: Engine,
    image: Image,
    volume: str,
    model_id: str,
    expected: list[list[float]],
    figures: dict[str, object],
) -> None:
    compose = compose_or_skip(engine)
    if compose is None:
        return
    port = free_port()
    project = f"gatescope-smoke-{uuid.uuid4().hex[:8]}"
    env = {
        **engine.env,
        "GATESCOPE_IMAGE": image.tag,
        "GATESCOPE_PORT": str(port),
        "GATESCOPE_VOLUME": volume,
        "COMPOSE_PROJECT_NAME": project,
    }

    def compose_run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*compose, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
        )
        assert proc.returncode == 0, f"{' '.join(compose)} {' '.join(args)}:\n{proc.stderr}"
        return proc

    try:
        compose_run(*COMPOSE_UP.split()[2:])
        containers = compose_run("ps", "-q").stdout.split()
        assert len(containers) == 1, containers  # no profile: the single service, no Redis
        container = containers[0]
        figures["compose_healthy_after_s"] = round(_wait_healthy(engine, container), 1)
        url = f"http://127.0.0.1:{port}"
        again = _trace(url, {"id": model_id}).json()["layers"][0]["h"]
        assert again == expected  # same named volume, so the same model
    finally:
        subprocess.run([*compose, "down"], cwd=REPO, env=env, capture_output=True, timeout=120)
