"""Static files under a content version, so that a browser asks for each file once.

Pages link `/static/<version>/js/main.js`, where the version is a hash of everything in
static/. Such an answer is cached for a year and marked immutable: a change to any file
changes the version, so the pages link new addresses and no browser keeps a stale module.
The modules import each other by relative paths, which resolve under the same version.

Without it, every page load asked again for each of the page's ~30 module files and got a
304: a room of students opening the teacher's link at once sent the server thousands of
requests for files their browsers already had.

`/static/js/main.js` with no version still works, with `Cache-Control: no-cache` (revalidate
on every use). So does a version that is not the current one (a page loaded before a
deploy): it gets today's file, not cached, rather than a 404.
"""

import hashlib
import os
import re
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

VERSION = re.compile(r"[0-9a-f]{12}")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def asset_version(root: Path) -> str:
    """12 hex digits of a SHA-256 over every file's path and bytes under `root`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


class VersionedStaticFiles(StaticFiles):
    """StaticFiles that also serves `<version>/<path>` as `<path>`, cached for good."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        self.version = asset_version(directory)

    async def get_response(self, path: str, scope: Scope) -> Response:
        first, sep, rest = path.partition(os.sep)
        versioned = bool(sep) and VERSION.fullmatch(first) is not None
        response = await super().get_response(rest if versioned else path, scope)
        if response.status_code in (200, 304):
            current = versioned and first == self.version
            response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
        return response
