"""A browser fetches each static file once: the pages link them under a content version
(app/web/assets.py), and Chromium keeps the immutable answers, so opening a page again (the
teacher's link, the language toggle) asks the server for none of them."""

import re
import time

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

STATIC = re.compile(
    r'^gatescope_http_requests_total\{[^}]*route="/static/\{path\}"[^}]*\} (\S+)$', re.M
)


def static_requests(page: Page) -> float:
    """Static requests the server has answered, from its own metrics (stable for 0.3 s)."""
    last = -1.0
    while True:
        now = sum(float(n) for n in STATIC.findall(page.request.get("/metrics").text()))
        if now == last:
            return now
        last = now
        time.sleep(0.3)


@pytest.mark.parametrize("path", ["/", "/train", "/learn/lstm-chain"])
def test_opening_a_page_again_fetches_no_static_file(
    page: Page, console_errors: list[str], path: str
) -> None:
    before = static_requests(page)
    page.goto(f"{path}?lang=en", wait_until="networkidle")
    first = static_requests(page)
    assert first - before >= 5  # a fresh browser: the page's modules, styles and icon
    page.goto(f"{path}?lang=zh", wait_until="networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert static_requests(page) == first
    assert console_errors == []
