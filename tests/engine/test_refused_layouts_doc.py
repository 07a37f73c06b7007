"""docs/refused-layouts.md quotes every refusal the layout readers can raise.

Each LayoutError (and the ONNX reader's InvalidFile / FileTooLarge) whose message is written
in the call, as a string or f-string, must appear in the document as its template: every
{...} placeholder written as its source expression, e.g. `missing tensor {label}{name}`.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    *sorted((ROOT / "app/engine").glob("layouts_*.py")),
    ROOT / "app/engine/keras_config.py",
    ROOT / "app/engine/params.py",
    ROOT / "app/store/onnx_reader.py",
]
ERRORS = {"LayoutError", "InvalidFile", "FileTooLarge"}


def template(node: ast.expr) -> str | None:
    """The message of a string, f-string or sum of them, placeholders as `{source}`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                assert isinstance(value, ast.FormattedValue)
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = template(node.left), template(node.right)
        return None if left is None or right is None else left + right
    return None  # a message built elsewhere (a variable): its parts are quoted where built


def messages() -> list[tuple[str, int, str]]:
    found = []
    for path in FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ERRORS
                and node.args
            ):
                text = template(node.args[0])
                if text is not None:
                    found.append((path.relative_to(ROOT).as_posix(), node.lineno, text))
    return found


def test_every_layout_refusal_is_quoted_in_the_document() -> None:
    doc = (ROOT / "docs/refused-layouts.md").read_text()
    found = messages()
    assert len(found) > 80  # the scan sees the readers' refusals
    missing = [f"{path}:{line}: {text}" for path, line, text in found if f"`{text}`" not in doc]
    assert not missing, "docs/refused-layouts.md lacks:\n" + "\n".join(missing)


def test_the_projection_is_no_longer_refused() -> None:
    assert not any("proj_size are not supported" in text for _, _, text in messages())
