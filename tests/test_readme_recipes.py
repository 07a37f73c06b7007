"""The README's "Bring your model" recipes run as written, against a real server: each builds its
model in the real framework, uploads it, traces it and checks the numbers itself."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, LiveServer

pytestmark = [pytest.mark.torch, pytest.mark.slow]

README_URL = "http://127.0.0.1:8000"


def recipes() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Bring your model", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_has_its_recipes() -> None:
    found = recipes()
    assert len(found) >= 3 and all(README_URL in code or "gatescope" in code for code in found)


@pytest.mark.parametrize("k", range(len(recipes())))
def test_readme_recipe_runs_as_written(k: int, live_server: LiveServer, tmp_path: Path) -> None:
    code = recipes()[k].replace(README_URL, live_server.url)
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
