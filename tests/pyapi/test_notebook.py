"""examples/notebook.ipynb runs top to bottom in a real Jupyter kernel (nbclient), and what it
prints and writes is right: the gate, the parity with torch, the saved page."""

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

pytestmark = [pytest.mark.torch, pytest.mark.slow]
NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


def test_example_notebook_executes(tmp_path: Path) -> None:
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        skip_or_fail("nbclient is not installed (pip install '.[test]')")
    pytest.importorskip("torch")
    shutil.copy(NOTEBOOK, tmp_path / "notebook.ipynb")
    nb = nbformat.read(tmp_path / "notebook.ipynb", as_version=4)
    repo = str(NOTEBOOK.parents[1])
    # The kernel is this interpreter, with this checkout first on its path.
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"import sys; sys.path.insert(0, {repo!r})"))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()  # "python3" is ipykernel's spec: this interpreter
    text = "\n".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "stream"
    )  # fmt: skip
    assert "(20, 8)" in text
    gap = float(re.search(r"max \|h - torch\|: (\S+)", text).group(1))  # type: ignore[union-attr]
    assert gap < 1e-6  # torch's float32 against the engine's float64
    shown = [out for cell in nb.cells for out in cell.get("outputs", [])
             if "text/html" in out.get("data", {})]  # fmt: skip
    assert any("<iframe srcdoc=" in "".join(o["data"]["text/html"]) for o in shown)
    page = (tmp_path / "lstm-trace.html").read_text()
    assert "connect-src 'none'" in page
    data = page.split('id="gatescope-trace">')[1].split("</script>")[0]
    assert json.loads(data)["hidden_size"] == 8
