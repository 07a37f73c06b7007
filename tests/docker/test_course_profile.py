"""The compose "course" profile, brought up as README "Course: several replicas" says: three
replicas on one model volume behind nginx, their limits in Redis. A model uploaded through one
replica is traced through another and deleted through the third; a low limit counts requests
spread over the replicas together; then one replica and Redis are killed under load, and
every answer is 2xx, 4xx or 503 while every acknowledged upload stays. Figures go to
build/test-artefacts/course-profile.json.
"""

import io
import json
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from safetensors.numpy import save

from tests.conftest import REPO, free_port
from tests.docker.conftest import CourseImages, Engine, Image, write_artefact
from tests.docker.test_image import INPUTS, _lstm_h, _wait_healthy, compose_or_skip

pytestmark = [pytest.mark.docker, pytest.mark.slow]

COURSE_UP = "docker compose --profile course up -d"  # README's command
REPLICAS = ("gatescope-1", "gatescope-2", "gatescope-3")
TRACE_BURST = 6  # the shared-limit check: six traces of one key, wherever they land
D, H = 2, 3


def _weights(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {"weight_ih_l0": (4 * H, D), "weight_hh_l0": (4 * H, H),
              "bias_ih_l0": (4 * H,), "bias_hh_l0": (4 * H,)}  # fmt: skip
    return {k: rng.uniform(-0.5, 0.5, s).astype(np.float32) for k, s in shapes.items()}


def _upload(url: str, seed: int, key: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/models",
        files={"file": (f"m{seed}.safetensors", io.BytesIO(save(_weights(seed))))},
        data={"cell": "lstm", "layout": "torch", "name": f"course-{seed}"},
        headers={"X-Gatescope-Key": key},
        timeout=30,
    )


def _trace(url: str, model_id: str, key: str = "tracer") -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/trace",
        json={"model": {"id": model_id}, "inputs": INPUTS},
        headers={"X-Gatescope-Key": key},
        timeout=30,
    )


def _uploads(url: str) -> set[str]:
    res = httpx.get(f"{url}/api/v1/models", timeout=30)
    assert res.status_code == 200, res.text
    return {m["id"] for m in res.json()["models"] if m["source"] == "upload"}


def _wait_answers(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer /readyz within {timeout} s")


class Load:
    """Uploads (a new model each) and traces through nginx from a few threads, recording every
    answer, until stopped."""

    def __init__(self, url: str, first_seed: int) -> None:
        self.url, self.seed, self.lock = url, first_seed, threading.Lock()
        self.codes: list[int] = []
        self.errors: list[str] = []
        self.acknowledged: dict[str, int] = {}  # model id -> seed, for every 2xx upload
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(k,)) for k in range(4)]

    def run(self, k: int) -> None:
        while not self.stop.is_set():
            with self.lock:
                self.seed += 1
                seed = self.seed
            try:
                if k % 2 == 0:
                    res = _upload(self.url, seed, key=f"loader-{k}")
                    if res.status_code in (200, 201):
                        with self.lock:
                            self.acknowledged[res.json()["id"]] = seed
                elif self.acknowledged:
                    res = _trace(self.url, next(iter(self.acknowledged)), key=f"loader-{k}")
                else:
                    res = httpx.get(f"{self.url}/readyz", timeout=30)
            except httpx.TransportError as err:
                with self.lock:
                    self.errors.append(f"{type(err).__name__}: {err}")
                continue
            with self.lock:
                self.codes.append(res.status_code)
            time.sleep(0.05)  # a steady stream, not a flood: 2 cores run the whole course

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def test_course_profile_shares_models_and_limits_and_survives_faults(
    engine: Engine, image: Image, course_images: CourseImages
) -> None:
    compose = compose_or_skip(engine)
    if compose is None:
        return
    t0 = time.monotonic()
    suffix = uuid.uuid4().hex[:8]
    project = f"gatescope-course-{suffix}"
    ports = {name: free_port() for name in ("single", "nginx", "redis", *REPLICAS)}
    env = {
        **engine.env,
        "COMPOSE_PROJECT_NAME": project,
        "GATESCOPE_IMAGE": image.tag,
        "GATESCOPE_NGINX_IMAGE": course_images.nginx,
        "GATESCOPE_REDIS_IMAGE": course_images.redis,
        "GATESCOPE_VOLUME": project,
        "GATESCOPE_PORT": str(ports["single"]),
        "GATESCOPE_WORKERS": "1",
        "GATESCOPE_COURSE_WORKERS": "1",  # 2 cores: one worker per replica is plenty here
        "GATESCOPE_COURSE_PORT": str(ports["nginx"]),
        "GATESCOPE_REDIS_PORT": str(ports["redis"]),
        **{f"GATESCOPE_REPLICA_{k + 1}_PORT": str(ports[r]) for k, r in enumerate(REPLICAS)},
        # one token every 100 s: a burst of six for the whole course, per key
        "GATESCOPE_RATE_LIMIT_TRACE_PER_S": "0.01",
        "GATESCOPE_RATE_LIMIT_TRACE_BURST": str(TRACE_BURST),
        "GATESCOPE_RATE_LIMIT_UPLOAD_PER_S": "50",
        "GATESCOPE_RATE_LIMIT_UPLOAD_BURST": "100",
    }
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    figures: dict[str, Any] = {"nginx_redis_build_s": round(course_images.build_seconds, 1)}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*compose, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
        )
        assert not check or proc.returncode == 0, f"{' '.join(args)}:\n{proc.stderr}"
        return proc

    def container(service: str) -> str:
        return run("--profile", "course", "ps", "-q", service).stdout.split()[0]

    try:
        started = time.monotonic()
        run(*COURSE_UP.split()[2:])
        for service in REPLICAS:
            _wait_healthy(engine, container(service))
        _wait_answers(url["nginx"])
        figures["course_up_s"] = round(time.monotonic() - started, 1)
        running = run("--profile", "course", "ps", "--services").stdout.split()
        assert sorted(running) == sorted(["gatescope", "redis", *REPLICAS, "nginx"]), running

        _upload_trace_delete_across_replicas(url)
        figures["limit_codes"] = _limits_count_every_replica_together(url)
        figures.update(_faults(engine, url, container))
        # no replica at all: nginx's own 502 becomes a 503 with Retry-After, in Gatescope's shape
        for service in REPLICAS:
            engine.run("kill", container(service))
        for method, path in (("GET", "/api/v1/models"), ("POST", "/api/v1/trace")):
            res = httpx.request(method, f"{url['nginx']}{path}", json={}, timeout=30)
            assert res.status_code == 503, (method, path, res.status_code, res.text)
            assert res.headers["retry-after"] == "1" and res.json()["error"] == "unavailable"
    finally:
        run("--profile", "course", "down", "-v", "--timeout", "5", check=False)
        engine.run("volume", "rm", "-f", project, check=False)
        figures["test_seconds"] = round(time.monotonic() - t0, 1)
        path = write_artefact("course-profile.json", json.dumps(figures, indent=2) + "\n")
        print(f"\ncourse profile: {figures} (written to {path})")
    leftover = engine.run("ps", "-aq", "--filter", f"name={project}").stdout.split()
    assert leftover == [], leftover


def _upload_trace_delete_across_replicas(url: dict[str, str]) -> None:
    one, two, three, front = (url[r] for r in (*REPLICAS, "nginx"))
    res = _upload(one, seed=1, key="student")
    assert res.status_code in (200, 201), res.text
    model_id, token = res.json()["id"], res.json()["delete_token"]
    assert token
    # replica 2 sees it at once: the same volume, no cache in the way
    traced = _trace(two, model_id)
    assert traced.status_code == 200, traced.text
    expected = _lstm_h(_weights(1), INPUTS)
    np.testing.assert_allclose(traced.json()["layers"][0]["h"], expected, rtol=1e-5, atol=1e-6)
    for where in (one, two, three, front):
        assert model_id in _uploads(where)
    # the same weights again, through nginx: the same id, no second token
    again = _upload(front, seed=1, key="student")
    assert again.json()["id"] == model_id and again.json()["delete_token"] is None
    wrong = httpx.delete(f"{three}/api/v1/models/{model_id}", headers={"X-Delete-Token": "no"})
    assert wrong.status_code == 403
    gone = httpx.delete(f"{three}/api/v1/models/{model_id}", headers={"X-Delete-Token": token})
    assert gone.status_code == 204, gone.text
    for where in (one, two, front):  # gone everywhere, at once
        assert model_id not in _uploads(where)
        assert httpx.get(f"{where}/api/v1/models/{model_id}").status_code == 404
    assert _trace(one, model_id).status_code == 404


def _limits_count_every_replica_together(url: dict[str, str]) -> list[int]:
    """Nine traces of one key, round-robin over the replicas, then one through nginx: with a
    bucket per replica each would allow six (all nine pass); shared, six pass in all."""
    codes = []
    for k in range(9):
        where = url[REPLICAS[k % 3]]
        res = httpx.post(
            f"{where}/api/v1/trace",
            json={"model": {"cell": "lstm", "input_size": D, "hidden_size": H}, "inputs": INPUTS},
            headers={"X-Gatescope-Key": "one-key-for-the-course"},
            timeout=30,
        )
        codes.append(res.status_code)
        if res.status_code == 429:
            assert res.json()["details"][0]["scope"] == "client"
    assert codes == [200] * TRACE_BURST + [429] * (9 - TRACE_BURST), codes
    front = _trace(url["nginx"], "sine-lstm", key="one-key-for-the-course")
    assert front.status_code == 429, front.text
    codes.append(front.status_code)
    return codes


def _logs(engine: Engine, name: str) -> str:
    logs = engine.run("logs", name, check=False)
    return logs.stdout + logs.stderr


def _faults(engine: Engine, url: dict[str, str], container: Callable[[str], str]) -> dict[str, Any]:
    victim, redis = container("gatescope-2"), container("redis")
    survivors = [container(r) for r in ("gatescope-1", "gatescope-3")]
    with Load(url["nginx"], first_seed=1000) as load:
        time.sleep(3)
        engine.run("kill", victim)  # SIGKILL: no graceful shutdown, requests in flight die
        time.sleep(3)
        engine.run("kill", redis)
        time.sleep(4)
        engine.run("start", redis)  # the replicas find it again within redis_retry_s (2 s)
        time.sleep(3)
    codes = load.codes
    assert not load.errors, load.errors[:5]  # nginx answered every request
    assert codes and all(c < 300 or 400 <= c < 500 or c == 503 for c in codes), sorted(set(codes))
    assert len(load.acknowledged) >= 10
    # nothing acknowledged is lost: every 2xx upload is listed and traces its own weights
    engine.run("start", victim)
    _wait_healthy(engine, victim)
    for where in (url["gatescope-1"], url["gatescope-2"], url["gatescope-3"], url["nginx"]):
        missing = set(load.acknowledged) - _uploads(where)
        assert not missing, f"{where} lost {len(missing)} acknowledged uploads"
    for model_id, seed in list(load.acknowledged.items())[:5]:
        res = _trace(url["gatescope-2"], model_id, key=f"check-{seed}")
        assert res.status_code == 200, res.text
        h = res.json()["layers"][0]["h"]
        np.testing.assert_allclose(h, _lstm_h(_weights(seed), INPUTS), rtol=1e-5, atol=1e-6)
    # each surviving replica (one worker) said once that Redis went, and once that it is back
    # (after a request found it: the load's last seconds)
    for name in survivors:
        text = _logs(engine, name)
        assert text.count("cannot be reached") == 1, text[-3000:]
        assert text.count("answers again") == 1, text[-3000:]
        assert "Traceback" not in text, text[-3000:]
    return {
        "fault_requests": len(codes),
        "fault_codes": {str(c): codes.count(c) for c in sorted(set(codes))},
        "acknowledged_uploads": len(load.acknowledged),
    }
