"""Playback in a real browser with the page's clock: play, sub-steps, focus figures, keys."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.helpers import SLIDE_SHARE, STEP_MS, classes, open_explorer

pytestmark = pytest.mark.e2e

SUB_MS = STEP_MS * (1 - SLIDE_SHARE) / 4

# What each focus figure lights, and what it must fade (ids in the chain SVG).
LIT = {
    "f": ["#layer-f", "#path-f", "#op-forget", "#path-cprev", "#strip-f", "#strip-c_prev"],
    "i": ["#layer-i", "#layer-g", "#path-i", "#path-g", "#op-input", "#strip-i", "#strip-g"],
    "c": ["#op-forget", "#op-add", "#path-fc", "#path-ig", "#path-c", "#strip-c"],
    "o": ["#layer-o", "#op-tanh", "#op-output", "#path-h", "#node-h", "#strip-h", "#strip-o"],
}
FADED = {
    "f": ["#layer-i", "#layer-g", "#layer-o", "#op-add", "#op-output", "#path-h"],
    "i": ["#layer-f", "#layer-o", "#op-add", "#op-tanh", "#path-c"],
    "c": ["#layer-f", "#layer-i", "#layer-g", "#layer-o", "#op-tanh", "#node-h"],
    "o": ["#layer-f", "#layer-i", "#layer-g", "#op-add", "#op-forget", "#path-fc"],
}


def assert_focus(page: Page, name: str) -> None:
    assert page.locator("#lstm-chain").get_attribute("data-focus") == name
    for sel in LIT[name]:
        assert "lit" in classes(page, sel), f"{sel} should be lit in focus {name}"
    for sel in FADED[name]:
        assert "faded" in classes(page, sel), f"{sel} should be faded in focus {name}"


def test_play_advances_the_step_through_the_four_focus_figures(
    page: Page, console_errors: list[str]
) -> None:
    page.clock.install(time=0)
    open_explorer(page, "?hidden=4&steps=12&seed=0&t=0")
    page.clock.pause_at(10_000)
    expect(page.locator("#step-label")).to_have_text("t = 0")
    page.click("#play")
    page.clock.run_for(SUB_MS / 2)
    assert_focus(page, "f")
    expect(page.locator("#substep-label")).to_contain_text("1/4")
    for k, name in enumerate(["i", "c", "o"], start=1):
        page.clock.run_for(SUB_MS)
        assert_focus(page, name)
        expect(page.locator("#substep-label")).to_contain_text(f"{k + 1}/4")
        save_screenshot(page, f"explorer-playing-focus-{name}")
    # The slide: C_t and h_t travel towards the next module.
    page.clock.run_for(SUB_MS / 2 + STEP_MS * SLIDE_SHARE / 2)
    assert page.locator("#lstm-chain").get_attribute("data-focus") == "slide"
    expect(page.locator("#carry")).to_be_visible()
    shift = page.locator("#carry").get_attribute("transform") or ""
    dx = float(shift.removeprefix("translate(").split(",")[0])
    assert 100 < dx < 250, shift
    save_screenshot(page, "explorer-playing-slide")
    page.clock.run_for(STEP_MS * SLIDE_SHARE / 2 + SUB_MS / 2)
    expect(page.locator("#step-label")).to_have_text("t = 1")
    assert_focus(page, "f")
    page.clock.run_for(STEP_MS * 3)
    expect(page.locator("#step-label")).to_have_text("t = 4")
    page.click("#play")  # pause
    page.clock.run_for(STEP_MS * 2)
    expect(page.locator("#step-label")).to_have_text("t = 4")
    assert "t=4" in page.url
    assert console_errors == []


def test_playback_stops_at_the_last_step(page: Page) -> None:
    page.clock.install(time=0)
    open_explorer(page, "?hidden=3&steps=4&t=2")
    page.clock.pause_at(10_000)
    page.click("#play")
    page.clock.run_for(STEP_MS * 5)
    expect(page.locator("#step-label")).to_have_text("t = 3")
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")


def test_speed_four_plays_four_steps_per_step_time(page: Page) -> None:
    page.clock.install(time=0)
    open_explorer(page, "?hidden=3&steps=20&t=0")
    page.clock.pause_at(10_000)
    page.select_option("#speed", "4")
    page.click("#play")
    page.clock.run_for(STEP_MS + 50)
    expect(page.locator("#step-label")).to_have_text("t = 4")
    assert "speed=4" in page.url


def test_keys_step_and_walk_the_sub_steps(page: Page, console_errors: list[str]) -> None:
    open_explorer(page, "?hidden=4&steps=12&t=3")
    page.locator("#lstm-chain").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")
    expect(page.locator("#step-label")).to_have_text("t = 4")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#step-label")).to_have_text("t = 2")
    assert page.locator("#lstm-chain").get_attribute("data-focus") in (None, "")
    for name in ["f", "i", "c", "o"]:
        page.keyboard.press("Shift+ArrowRight")
        assert_focus(page, name)
        save_screenshot(page, f"explorer-focus-{name}", readme=name == "i", full_page=False)
    page.keyboard.press("Shift+ArrowRight")  # past o comes the next step's f
    expect(page.locator("#step-label")).to_have_text("t = 3")
    assert_focus(page, "f")
    page.keyboard.press("Shift+ArrowLeft")
    expect(page.locator("#step-label")).to_have_text("t = 2")
    assert_focus(page, "o")
    page.keyboard.press("Space")
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Space")
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")
    assert console_errors == []


def test_reduced_motion_plays_without_the_slide(page: Page) -> None:
    page.emulate_media(reduced_motion="reduce")
    page.clock.install(time=0)
    open_explorer(page, "?hidden=4&steps=12&t=0")
    page.clock.pause_at(10_000)
    page.click("#play")
    page.clock.run_for(STEP_MS * (1 - SLIDE_SHARE / 2))
    # In the slide's time the o figure stays; nothing travels.
    assert page.locator("#lstm-chain").get_attribute("data-focus") == "o"
    expect(page.locator("#carry")).to_be_hidden()
    page.clock.run_for(STEP_MS * SLIDE_SHARE)
    expect(page.locator("#step-label")).to_have_text("t = 1")
    duration = page.evaluate(
        "getComputedStyle(document.querySelector('#layer-f')).transitionDuration"
    )
    assert duration in ("0s", "0ms")


def test_up_and_down_keys_and_the_unit_field_pick_the_unit(page: Page) -> None:
    open_explorer(page, "?hidden=5&steps=6&t=1")
    page.locator("#lstm-chain").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#unit-label")).to_have_text("unit 2")
    assert page.input_value("#unit-input") == "2"
    page.keyboard.press("ArrowUp")
    expect(page.locator("#unit-label")).to_have_text("unit 1")
    page.fill("#unit-input", "4")
    page.dispatch_event("#unit-input", "change")
    expect(page.locator("#unit-label")).to_have_text("unit 4")
    expect(page.locator("#gate-table th.selected")).to_have_text("4")
