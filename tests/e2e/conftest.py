from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
README_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Collects console errors and uncaught exceptions of the page under test."""
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def save_screenshot(page: Page, name: str, readme: bool = False, full_page: bool = True) -> Path:
    """Saves a test artefact; readme=True also writes docs/images/<name>.png for the README."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.mouse.move(0, 0)  # no stray hover state in the picture
    if full_page:  # from the top, or sticky elements land mid-picture
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    if readme:
        README_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_IMAGES / f"{name}.png"), full_page=full_page)
    return path
