"""The saved explorer (Trace.save_html, and the Export HTML button) in real Chromium, opened
from disk: no console errors, no request but the file itself, hover values equal the trace."""

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, Request, expect

import gatescope
from app.engine import init_params, run_trace
from gatescope.result import from_engine
from tests.e2e.helpers import open_explorer

pytestmark = pytest.mark.e2e
HOVER = {"f": "#layer-f", "i": "#layer-i", "g": "#layer-g", "o": "#layer-o", "c": "#op-add"}


def _requests(page: Page) -> list[str]:
    seen: list[str] = []

    def on_request(req: Request) -> None:
        seen.append(req.url)

    page.on("request", on_request)
    return seen


def _trace() -> gatescope.Trace:
    x = np.random.default_rng(2).normal(size=(8, 3))
    result = run_trace("lstm", init_params("lstm", 3, 5, 1, 7), x)
    out = from_engine(result, x, None)
    out.title = 'saved </script><img src=x onerror="window.pwned=1">'  # shown as text
    return out


def test_saved_file_opens_offline_and_shows_the_traces_values(
    page: Page, tmp_path: Path, console_errors: list[str]
) -> None:
    trace = _trace()
    path = trace.save_html(tmp_path / "lstm.html")
    seen = _requests(page)
    page.goto(path.as_uri() + "?t=4")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#model-info")).to_contain_text("saved </script><img src=x")
    assert page.evaluate("window.pwned") is None
    expect(page.locator("#step-label")).to_have_text("t = 4")  # the query still works
    for _ in range(3):
        page.click("#step-forward")
    expect(page.locator("#step-label")).to_have_text("t = 7")
    for field, selector in HOVER.items():
        page.hover(selector)
        tip = page.locator("#tooltip")
        expect(tip).to_be_visible()
        for unit in range(5):
            cell = tip.locator(f"[data-testid=tip-{field}-{unit}]")
            value = float(cell.get_attribute("data-value") or "nan")
            assert value == trace.layers[0][field][7][unit], (field, unit)
        page.mouse.move(0, 0)
    assert seen == [path.as_uri() + "?t=4"], seen
    assert console_errors == []


def test_show_renders_in_an_iframe_srcdoc(page: Page, console_errors: list[str]) -> None:
    trace = _trace()
    seen = _requests(page)
    page.set_content(trace.show(height=700).data)
    frame = page.frame_locator("iframe")
    expect(frame.locator("body[data-ready=true]")).to_be_attached()
    expect(frame.locator("#model-info")).to_contain_text("lstm")
    assert [u for u in seen if not u.startswith(("about:", "data:"))] == []
    assert console_errors == []


def test_export_html_button_downloads_a_working_page(
    page: Page, tmp_path: Path, console_errors: list[str]
) -> None:
    open_explorer(page, "?hidden=4&steps=6&seed=2&t=2")
    page.locator("summary", has_text="Share and export").click()
    with page.expect_download() as info:
        page.click("#download-html")
    path = tmp_path / "export.html"
    info.value.save_as(path)
    seen = _requests(page)
    page.goto(path.as_uri())
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    assert page.evaluate("window.gatescope.app.trace.hidden_size") == 4
    assert page.locator("#download-html").is_hidden()
    assert seen == [path.as_uri()]
    assert console_errors == []
