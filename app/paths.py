"""Where the pages and static files are: inside the installed package, or at the repo top."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    packaged = _PACKAGE / name  # a wheel ships them inside the package
    return packaged if packaged.is_dir() else _PACKAGE.parent / name


APP_DIR = _PACKAGE
STATIC_DIR = _find("static")
TEMPLATES_DIR = _find("templates")
