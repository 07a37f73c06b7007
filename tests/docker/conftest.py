"""A Docker engine and the image, for the smoke test.

The engine: whatever answers `docker version` already; otherwise, as root, a private dockerd
(scripts/docker/engine.sh) that this session stops again. The image is built on a local Debian
base made with debootstrap (scripts/docker/base.sh, cached) when we are root, because no image
registry may be reachable; elsewhere on the Dockerfile's default base.
"""

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, skip_or_fail

SCRIPTS = REPO / "scripts" / "docker"
LOCAL_BASE = "gatescope-base:bookworm"
BUILDER_CACHE = "gatescope-smoke:builder-cache"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # inside the local base: host CAs included
ARTEFACTS = REPO / "build" / "test-artefacts"  # gitignored; test-results/ is Playwright's, wiped


@dataclass
class Engine:
    env: dict[str, str]  # os.environ plus DOCKER_HOST when the engine is our own
    private: bool

    def run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc


@dataclass
class Image:
    tag: str
    base: str
    build_seconds: float
    size_bytes: int


def _answers(env: dict[str, str]) -> bool:
    try:
        return subprocess.run(["docker", "version"], env=env, capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    env = dict(os.environ)
    if shutil.which("docker") and _answers(env):
        yield Engine(env, private=False)
        return
    is_root = os.geteuid() == 0
    if is_root and not shutil.which("dockerd"):
        subprocess.run(["bash", str(SCRIPTS / "engine.sh"), "install"], check=False)
    if not is_root or not shutil.which("dockerd") or not shutil.which("docker"):
        skip_or_fail(
            "no Docker engine answers, and a private one needs root and Debian's docker.io "
            "(`make test` installs it when run as root)"
        )
    started = subprocess.run(
        ["bash", str(SCRIPTS / "engine.sh"), "start"], capture_output=True, text=True
    )
    if started.returncode != 0:
        pytest.fail(f"could not start a private dockerd:\n{started.stderr}")
    values = dict(line.split("=", 1) for line in started.stdout.split())
    env["DOCKER_HOST"] = values["DOCKER_HOST"]
    try:
        yield Engine(env, private=True)
    finally:
        subprocess.run(["bash", str(SCRIPTS / "engine.sh"), "stop", values["RUNDIR"]])


@pytest.fixture(scope="session")
def image(engine: Engine) -> Iterator[Image]:
    build_args: list[str] = []
    base = "python:3.12-slim (the Dockerfile's default)"
    if os.geteuid() == 0:
        made = subprocess.run(
            ["bash", str(SCRIPTS / "base.sh"), LOCAL_BASE], env=engine.env, capture_output=True
        )
        if made.returncode != 0:
            pytest.fail(f"the local Debian base failed:\n{made.stderr.decode()[-3000:]}")
        base = LOCAL_BASE
        build_args = ["--build-arg", f"BASE={LOCAL_BASE}", "--build-arg", f"PIP_CERT={CA_BUNDLE}"]
    tag = f"gatescope-smoke:{uuid.uuid4().hex[:8]}"
    start = time.monotonic()
    build = ["build", "--network", "host", *build_args]
    # The builder stage, tagged, stays as the layer cache of the next run (dependencies are
    # downloaded again only when pyproject.toml changes); the old one becomes dangling.
    engine.run(*build, "--target", "builder", "-t", BUILDER_CACHE, str(REPO), timeout=900)
    engine.run(*build, "-t", tag, str(REPO), timeout=900)
    seconds = time.monotonic() - start
    size = int(engine.run("image", "inspect", "-f", "{{.Size}}", tag).stdout)
    try:
        yield Image(tag, base, seconds, size)
    finally:
        engine.run("rmi", "-f", tag, check=False)
        engine.run("image", "prune", "-f", check=False)  # layers of earlier runs


@dataclass
class CourseImages:
    nginx: str
    redis: str
    build_seconds: float


@pytest.fixture(scope="session")
def course_images(engine: Engine, image: Image) -> Iterator[CourseImages]:
    """The course profile's nginx and redis images (deploy/course), on the same Debian base as
    the main image when we built that base; a few seconds once their layers are cached."""
    args = ["--build-arg", f"BASE={LOCAL_BASE}"] if image.base == LOCAL_BASE else []
    suffix = uuid.uuid4().hex[:8]
    tags = CourseImages(f"gatescope-smoke-nginx:{suffix}", f"gatescope-smoke-redis:{suffix}", 0)
    start = time.monotonic()
    for tag, name in ((tags.nginx, "nginx"), (tags.redis, "redis")):
        engine.run(
            "build", "--network", "host", *args, "-t", tag,
            "-f", str(REPO / "deploy" / "course" / f"{name}.Dockerfile"),
            str(REPO / "deploy" / "course"), timeout=600,
        )  # fmt: skip
    tags.build_seconds = time.monotonic() - start
    try:
        yield tags
    finally:
        engine.run("rmi", "-f", tags.nginx, tags.redis, check=False)


def write_artefact(name: str, text: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    path.write_text(text)
    return path
