"""/compare in real Chromium: five cells on one input, one cursor moving every panel."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import api_trace

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
        h = api_trace(base_url, {"model": ref, "inputs": inputs})["layers"][0]["h"][7]
        shown = page.locator(f".compare-panel[data-cell={cell}] .panel-t").inner_text()
        assert f"{sum(v * v for v in h) ** 0.5:.4f}" in shown


def test_choosing_fewer_than_two_cells_is_refused(page: Page) -> None:
    open_compare(page, "?lang=en")
    for cell in CELLS[1:]:
        page.locator(f"input[name=cell][value={cell}]").uncheck()
    page.locator("#compare-run").click()
    expect(page.locator("#compare-error")).not_to_have_text("")
    assert page.locator(".compare-panel").count() == 5


def test_time_step_in_the_url_survives_a_reload_and_the_language_toggle(page: Page) -> None:
    """?t= is restored: building the time slider must not reset the step to 0."""
    open_compare(page, "?lang=en&steps=20")
    slider = page.locator("#compare-controls input[type=range]")
    slider.fill("9")
    assert "t=9" in page.url
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=30_000)
    expect(slider).to_have_value("9")
    expect(page.locator("#compare-controls output")).to_have_text("t = 9")
    for k in range(5):
        expect(page.locator(".compare-panel").nth(k)).to_have_attribute("data-t", "9")
    assert "t=9" in page.url
    # The toggle's link follows the current step, not the query the page was opened with.
    slider.fill("11")
    page.locator("#lang-toggle").click()
    expect(page.locator("html[data-lang=zh] body[data-ready=true]")).to_be_attached(timeout=30_000)
    expect(page.locator("#compare-controls input[type=range]")).to_have_value("11")
    assert "t=11" in page.url and "lang=zh" in page.url


# The smallest text of every chart, in CSS px as rendered (the explorer's smallest is about 9).
SMALLEST_CHART_TEXT = """() => {
  const heights = [...document.querySelectorAll('.compare-panel svg text')]
    .filter((n) => n.textContent.trim())
    .map((n) => n.getBoundingClientRect().height);
  return heights.length ? Math.min(...heights) : 0;
}"""

# How many lines each form label's own text takes (a label squeezed by its input wraps).
LABEL_LINES = """() => [...document.querySelectorAll('#compare-form label.field')].map((label) => {
  const range = document.createRange();
  range.selectNodeContents(label.firstChild);
  const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  return [label.firstChild.textContent.trim(), tops.size];
})"""


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("size", [(1280, 720), (390, 844)], ids=["desktop", "phone"])
def test_chart_text_and_form_labels_stay_readable(
    page: Page, lang: str, size: tuple[int, int]
) -> None:
    """Five panels in a row leave each chart about 220 px: its ticks and key must not shrink."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_compare(page, f"?lang={lang}")
    assert page.locator(".compare-panel .grad-chart .axis-label").count() > 0
    smallest = page.evaluate(SMALLEST_CHART_TEXT)
    assert smallest >= 9, f"smallest chart text is {smallest:.1f} px tall"
    for label, lines in page.evaluate(LABEL_LINES):
        assert lines == 1, f"form label {label!r} wraps onto {lines} lines"
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
