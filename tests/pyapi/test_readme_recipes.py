"""The ```python blocks under the README's "Bring your model" heading run as written."""

import os
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.torch, pytest.mark.slow]
README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Bring your model\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_section_has_recipes() -> None:
    assert _blocks(), "no ```python block under ## Bring your model"


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_recipe_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    pytest.importorskip("torch")
    os.environ.setdefault("KERAS_BACKEND", "torch")  # a Keras recipe would import tensorflow
    monkeypatch.chdir(tmp_path)  # files a recipe writes land here
    code = _blocks()[index]
    if re.search(r"http://(127\.0\.0\.1|localhost):8000", code):  # a served app stands in
        url = request.getfixturevalue("live_server").url
        code = re.sub(r"http://(127\.0\.0\.1|localhost):8000", url, code)
    exec(compile(code, f"README.md (Bring your model, block {index})", "exec"), {})
    assert all(p.stat().st_size > 0 for p in tmp_path.iterdir())  # what it wrote is not empty
