"""The first vertical slice in a real browser: page -> API -> engine -> SVG and values."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.helpers import api_trace

pytestmark = pytest.mark.e2e


def test_explorer_loads_without_console_errors(page: Page, console_errors: list[str]) -> None:
    page.goto("/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#lstm-chain #module-t")).to_be_visible()
    expect(page.locator("#layer-f")).to_be_visible()
    assert console_errors == []
    save_screenshot(page, "explorer-default")


def test_step_two_shows_the_forget_gate_the_api_returned(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    page.goto("/?hidden=4&steps=12&seed=0&t=0")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.click("#step-forward")
    page.click("#step-forward")
    expect(page.locator("#step-label")).to_have_text("t = 2")

    inputs = page.evaluate("Array.from({length: 12}, (_, t) => [Math.sin(t / 2), Math.cos(t / 3)])")
    model = {"cell": "lstm", "input_size": 2, "hidden_size": 4, "seed": 0}
    api = api_trace(base_url, {"model": model, "inputs": inputs})
    for unit in range(4):
        shown = page.locator(f"[data-testid=value-f-{unit}]")
        assert float(shown.get_attribute("data-value") or "nan") == api["layers"][0]["f"][2][unit]
        assert shown.inner_text() == f"{api['layers'][0]['f'][2][unit]:.4f}"
    expect(page).to_have_url(re.compile(r"[?&]t=2(&|$)"))
    assert console_errors == []
