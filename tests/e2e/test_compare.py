"""/compare in real Chromium: five cells on one input, one cursor moving every panel."""

import httpx
import pytest
from playwright.sync_api import Page, expect

CELLS = ["rnn_tanh", "lstm", "gru", "lstm_peephole", "lstm_coupled"]


def open_compare(page: Page, query: str = "") -> None:
    page.goto(f"/compare{query}")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=30_000)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_five_cells_render_without_console_errors(
    page: Page, console_errors: list[str], lang: str
) -> None:
    open_compare(page, f"?lang={lang}")
    panels = page.locator(".compare-panel")
    assert [panels.nth(k).get_attribute("data-cell") for k in range(panels.count())] == CELLS
    expect(page.locator("#compare-error")).to_have_text("")
    assert console_errors == []


def test_shared_cursor_moves_every_panel(page: Page) -> None:
    open_compare(page, "?lang=en&steps=20")
    panels = page.locator(".compare-panel")
    before = [panels.nth(k).locator(".h-chart .chart-cursor").get_attribute("x1") for k in range(5)]
    page.locator("#compare-controls input[type=range]").fill("13")
    for k in range(5):
        panel = panels.nth(k)
        expect(panel).to_have_attribute("data-t", "13")
        cursor = panel.locator(".h-chart .chart-cursor")
        expect(cursor).to_have_attribute("data-t", "13")
        assert cursor.get_attribute("x1") != before[k]
        expect(panel.locator(".panel-t")).to_contain_text("t = 13")
    assert "t=13" in page.url


def test_panels_show_the_api_hidden_state(page: Page, base_url: str) -> None:
    """The |h_t| each panel prints is the norm of the API's h_t for the same model and input."""
    open_compare(page, "?lang=en&steps=12&cells=lstm,gru&gen=steps")
    page.locator("#compare-controls input[type=range]").fill("7")
    for cell in ("lstm", "gru"):
        ref = page.evaluate(f"window.gatescopeCompare.refs['{cell}']")
        inputs = page.evaluate(f"window.gatescopeCompare.inputs['{cell}']")
        res = httpx.post(
            f"{base_url}/api/v1/trace", json={"model": ref, "inputs": inputs}, timeout=30
        )
        assert res.status_code == 200, res.text
        h = res.json()["layers"][0]["h"][7]
        shown = page.locator(f".compare-panel[data-cell={cell}] .panel-t").inner_text()
        assert f"{sum(v * v for v in h) ** 0.5:.4f}" in shown


def test_choosing_fewer_than_two_cells_is_refused(page: Page) -> None:
    open_compare(page, "?lang=en")
    for cell in CELLS[1:]:
        page.locator(f"input[name=cell][value={cell}]").uncheck()
    page.locator("#compare-run").click()
    expect(page.locator("#compare-error")).not_to_have_text("")
    assert page.locator(".compare-panel").count() == 5
