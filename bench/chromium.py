"""How the browser tests and the browser benchmark start Chromium: one set of flags."""

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Headless in a container as root, with no GPU, and nothing that talks to the network on its
# own (so a test that checks for off-origin requests sees only the page's).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def system_chromium() -> str | None:
    """A Chromium to use instead of Playwright's download: $CHROMIUM_PATH or `chromium`."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@contextlib.contextmanager
def bench_chromium(bench: str) -> Iterator["Browser | None"]:
    """Headless Chromium for a benchmark (the system's, else Playwright's download), closed
    afterwards; None, with a line saying so, where there is none."""
    from playwright.sync_api import sync_playwright

    exe = system_chromium()
    with sync_playwright() as p:
        if exe is None and not Path(p.chromium.executable_path).exists():
            print(f"{bench}: no Chromium here; `make browser` installs one. Not run.")
            yield None
            return
        browser = p.chromium.launch(headless=True, args=CHROMIUM_ARGS, executable_path=exe)
        try:
            yield browser
        finally:
            browser.close()
