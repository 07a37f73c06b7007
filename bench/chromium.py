"""How the browser tests and the browser benchmark start Chromium: one set of flags."""

import os
import shutil

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
