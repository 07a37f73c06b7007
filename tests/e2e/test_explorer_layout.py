"""The explorer at 1280x720 and 390 px wide, in English and Chinese, with labelled controls."""

import itertools

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.helpers import open_explorer

pytestmark = pytest.mark.e2e


def test_desktop_shows_the_whole_chain_above_the_fold(page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    open_explorer(page, "?hidden=8&steps=24&gen=sine&noise=0.1&t=9&unit=3")
    box = page.locator("#lstm-chain").bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= 720
    assert box["width"] >= 700
    save_screenshot(page, "explorer", readme=True, full_page=False)


def test_phone_width_has_no_sideways_scrolling(browser: Browser, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_explorer(page, "?hidden=6&steps=16&t=4&sub=2")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("#lstm-chain").bounding_box()
    assert box is not None and box["width"] >= 600  # scrolls inside its frame
    frame = page.locator("#diagram-scroll").bounding_box()
    assert frame is not None and frame["width"] <= 390
    expect(page.locator("#play")).to_be_in_viewport()
    page.hover("#layer-f")
    expect(page.locator("#tooltip")).to_be_visible()
    tip = page.locator("#tooltip").bounding_box()
    assert tip is not None and tip["x"] >= 0 and tip["x"] + tip["width"] <= 390
    save_screenshot(page, "explorer-390px")
    assert errors == []
    context.close()


def test_chinese_page_uses_the_chinese_catalogue(page: Page, console_errors: list[str]) -> None:
    open_explorer(page, "?lang=zh&hidden=5&t=3&sub=0")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("#focus-title")).to_have_text("1. 遗忘：旧的细胞状态保留多少")
    expect(page.locator("#lang-toggle")).to_have_text("English")
    page.hover("#layer-f")
    expect(page.locator("#tooltip .tip-title")).to_contain_text("遗忘门")
    save_screenshot(page, "explorer-zh")
    # The toggle keeps the whole state and switches the language.
    page.click("#lang-toggle")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#step-label")).to_have_text("t = 3")
    assert "lang=en" in page.url and "hidden=5" in page.url
    assert console_errors == []


def test_browser_language_picks_chinese(browser: Browser, base_url: str) -> None:
    context = browser.new_context(locale="zh-CN", base_url=base_url)
    page = context.new_page()
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    context.close()


def test_every_control_has_a_label(page: Page) -> None:
    open_explorer(page)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter((el) => !el.closest('[hidden]'))
            .filter((el) => {
              const name = el.getAttribute('aria-label') || el.labels?.[0]?.textContent
                || (el.tagName === 'BUTTON' ? el.textContent : '');
              return !name || !name.trim();
            }).map((el) => el.id || el.outerHTML.slice(0, 60))"""
    )
    assert unlabelled == []


def test_a_shorter_text_does_not_leave_the_page_wider_than_the_window(page: Page) -> None:
    # The heatmap cursors sat at the old last step, far right of the new, shorter heatmaps.
    page.set_viewport_size({"width": 1280, "height": 720})
    open_explorer(page, "?model=bracket-depth-lstm")
    page.fill("#text-input", "(x(y)x)((((((((((xxxxx")
    expect(page.locator("#step-label")).to_have_text("t = 21")
    page.fill("#text-input", "(yx)")
    expect(page.locator("#step-label")).to_have_text("t = 3")
    page.wait_for_timeout(300)  # the heatmaps redraw on the next frames
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_neighbour_modules_name_only_steps_that_exist(page: Page) -> None:
    open_explorer(page, "?hidden=4&steps=5&t=0")
    expect(page.locator("#lstm-chain .neighbour .step-label").first).to_have_text("")  # no t = -1
    expect(page.locator("#lstm-chain .neighbour .step-label").nth(1)).to_have_text("t = 1")
    open_explorer(page, "?hidden=4&steps=5&t=4")
    expect(page.locator("#lstm-chain .neighbour .step-label").first).to_have_text("t = 3")
    expect(page.locator("#lstm-chain .neighbour .step-label").nth(1)).to_have_text("")  # no t = 5


def test_unit_chart_end_labels_do_not_overlap(page: Page) -> None:
    open_explorer(page, "?model=bracket-depth-lstm")
    labels = page.locator("#unit-chart .line-label")
    expect(labels).to_have_count(5)  # f, i, o, C and h of an LSTM unit
    boxes = sorted(
        (b for b in (labels.nth(k).bounding_box() for k in range(labels.count())) if b),
        key=lambda b: b["y"],
    )
    for upper, lower in itertools.pairwise(boxes):
        # a text box's height includes room for descenders these one-letter labels lack
        assert upper["y"] + 0.75 * upper["height"] <= lower["y"], (upper, lower)
