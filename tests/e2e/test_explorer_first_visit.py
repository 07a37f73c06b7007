"""The learner's first minute in real Chromium: a first visit opens the trained delayed-recall
LSTM on its example with the memory unit selected and the forget gate's path lit; random
weights are one click away; the guided tour steps through, is skipped, stays dismissed, and
speaks both languages."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.helpers import api_trace, classes

pytestmark = pytest.mark.e2e

MODEL = "delayed-recall-lstm"
I18N = Path(__file__).resolve().parents[2] / "static" / "i18n"
TOUR = ["cell", "gates", "player", "heatmaps", "clamp", "pages"]
TARGETS = {
    "cell": "#path-c",
    "gates": "#layer-f",
    "player": ".player",
    "heatmaps": "#heatmaps",
    "clamp": "#clamp-box",
    "pages": ".header-nav",
}


def catalogue(lang: str) -> dict[str, str]:
    messages: dict[str, str] = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
    return messages


def first_visit(page: Page, query: str = "") -> None:
    page.goto(f"/{query}")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=20_000)


def model_info(base_url: str) -> dict[str, Any]:
    info: dict[str, Any] = httpx.get(f"{base_url}/api/v1/models/{MODEL}", timeout=10).json()
    return info


def inside(outer: dict[str, float], inner: dict[str, float], slack: float = 1.0) -> bool:
    return (
        outer["x"] - slack <= inner["x"]
        and outer["y"] - slack <= inner["y"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def test_first_visit_opens_the_trained_model_on_its_example(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    info = model_info(base_url)
    memory = next(u for u in info["units"] if u["kind"] == "memory")
    first_visit(page)
    state = page.evaluate("window.gatescope.state")
    assert state["model"] == MODEL and state["unit"] == memory["unit"] and state["sub"] == 0
    expect(page.locator("#model-select")).to_have_value(MODEL)
    expect(page.locator("#text-input")).to_have_value(info["example"])
    assert "France" in info["example"] and info["example"].endswith("speak")
    # The forget gate's focus figure: its path lit, the output path faded.
    assert page.get_attribute("#lstm-chain", "data-focus") == "f"
    for lit in ("#path-f", "#layer-f", "#op-forget", "#path-cprev"):
        assert "lit" in classes(page, lit), lit
    assert "faded" in classes(page, "#layer-o")
    # The memory unit is selected in the strips, and the numbers are the API's for that text.
    unit = memory["unit"]
    marker = float(page.get_attribute("#strip-f .strip-select", "x") or "nan")
    assert marker == float(page.get_attribute(f"#strip-f-{unit}", "x") or "nan") - 1
    trace = api_trace(base_url, {"model": {"id": MODEL}, "text": info["example"]})
    t = state["t"]
    tokens = info["example"].split()
    assert t == len(tokens) // 2 and 4 < t < len(tokens) - 1  # inside the gap
    forget = trace["layers"][0]["f"]
    shown = float(page.get_attribute(f"[data-testid=value-f-{unit}]", "data-value") or "nan")
    assert shown == forget[t][unit]
    assert min(row[unit] for row in forget[5:-1]) > 0.9  # the forget gate holds across the gap
    expect(page.locator("#tour")).to_be_visible()
    save_screenshot(page, "explorer-first-visit", full_page=False)
    page.click("#tour-skip")  # the tour's box may sit over the gates
    page.hover("#layer-f")
    tip = page.locator(f"#tooltip [data-testid=tip-f-{unit}]")
    assert float(tip.get_attribute("data-value") or "nan") == forget[t][unit]
    page.mouse.move(0, 0)
    assert f"model={MODEL}" in page.url  # a reload or a shared link keeps this view

    # Random weights: one click.
    page.click("#random-model")
    expect(page.locator("#random-fields")).to_be_visible()
    expect(page.locator("#model-info")).to_contain_text("Random weights")
    assert page.evaluate("window.gatescope.state.model") == ""
    assert console_errors == [], console_errors


def test_the_clamp_step_says_what_the_model_does(base_url: str) -> None:
    """The tour's clamp step makes a claim about this model; here it is, measured."""
    info = model_info(base_url)

    def answers(clamp: list[dict[str, Any]] | None) -> list[str]:
        out = []
        for country in ("France", "Japan", "Brazil", "Egypt"):
            text = info["example"].replace("France", country)
            body = {"model": {"id": MODEL}, "text": text, "clamp": clamp}
            res = httpx.post(f"{base_url}/api/v1/trace", json=body, timeout=30)
            assert res.status_code == 200, res.text
            probs = res.json()["readout"]["probs"][-1]
            out.append(info["labels"][max(range(len(probs)), key=probs.__getitem__)])
        return out

    assert answers(None) == ["French", "Japanese", "Portuguese", "Arabic"]
    wiped = [{"field": "f", "value": 0, "layer": 0, "steps": list(range(8, 20))}]
    assert answers(wiped) == ["Japanese"] * 4
    text = catalogue("en")["tour.clamp.text"]
    assert "8–19" in text and "Japanese" in text and "8–19" in catalogue("zh")["tour.clamp.text"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_tour_steps_through_in_both_languages_and_stays_dismissed(
    page: Page, console_errors: list[str], lang: str
) -> None:
    messages = catalogue(lang)
    first_visit(page, f"?lang={lang}")  # the language alone is no state: still a first visit
    assert page.evaluate("window.gatescope.state.model") == MODEL
    tour = page.locator("#tour")
    expect(tour).to_be_visible()
    for k, key in enumerate(TOUR):
        expect(tour).to_have_attribute("data-step", key)
        expect(page.locator("#tour-count")).to_have_text(f"{k + 1} / {len(TOUR)}")
        expect(page.locator("#tour-title")).to_have_text(messages[f"tour.{key}.title"])
        expect(page.locator("#tour-text")).to_have_text(messages[f"tour.{key}.text"])
        # The ring goes round the part the step is about (once the page's layout has settled).
        ring, target = page.locator("#tour-ring"), page.locator(TARGETS[key]).first
        for _ in range(20):
            around, part = ring.bounding_box(), target.bounding_box()
            if around is not None and part is not None and inside(around, part):
                break
            page.wait_for_timeout(100)
        else:
            raise AssertionError((key, around, part))
        expect(page.locator("#tour-back")).to_be_enabled() if k else expect(
            page.locator("#tour-back")
        ).to_be_disabled()
        if key == "pages":
            link = page.locator("#tour-learn-link")
            expect(link).to_have_attribute("href", f"learn?lang={lang}")
            expect(link).to_have_text(messages["tour.learn_link"])
            train = page.locator("#tour-train-link")
            expect(train).to_have_attribute("href", f"train?lang={lang}")
            expect(train).to_have_text(messages["tour.train_link"])
            expect(page.locator("#tour-next")).to_have_text(messages["tour.done"])
        else:
            expect(page.locator("#tour-next")).to_have_text(messages["tour.next"])
        save_screenshot(page, f"explorer-tour-{lang}-{k + 1}", full_page=False)
        if k == 2:  # back and forth
            page.click("#tour-back")
            expect(tour).to_have_attribute("data-step", TOUR[1])
            page.click("#tour-next")
        page.click("#tour-next")
    expect(tour).to_have_count(0)
    assert page.evaluate("localStorage.getItem('gatescope.tour')") == "dismissed"
    # Back as a newcomer (the visit forgotten, the dismissal kept): the model, but no tour.
    page.evaluate("localStorage.removeItem('gatescope.visited')")
    first_visit(page, f"?lang={lang}")
    assert page.evaluate("window.gatescope.state.model") == MODEL
    expect(page.locator("#tour")).to_have_count(0)
    # The tour's button brings it back on demand.
    page.click("#tour-start")
    expect(page.locator("#tour-title")).to_have_text(messages["tour.cell.title"])
    expect(page.locator("#tour-skip")).to_have_text(messages["tour.skip"])
    assert console_errors == [], console_errors


def test_the_tour_can_be_skipped_and_stays_dismissed(page: Page, console_errors: list[str]) -> None:
    first_visit(page)
    expect(page.locator("#tour")).to_be_visible()
    page.click("#tour-next")
    page.click("#tour-skip")
    expect(page.locator("#tour")).to_have_count(0)
    expect(page.locator("#tour-ring")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('gatescope.tour')") == "dismissed"
    # A later bare visit: random weights as before the first one, and no tour.
    first_visit(page)
    assert page.evaluate("window.gatescope.state.model") == ""
    expect(page.locator("#tour")).to_have_count(0)
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#tour")).to_have_count(0)
    # Escape skips too.
    page.click("#tour-start")
    expect(page.locator("#tour")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#tour")).to_have_count(0)
    assert console_errors == [], console_errors


def test_a_bare_link_after_the_first_visit_without_dismissing_shows_the_tour_again(
    page: Page,
) -> None:
    first_visit(page)
    expect(page.locator("#tour")).to_be_visible()
    first_visit(page)  # the visit is remembered, the tour was neither skipped nor finished
    assert page.evaluate("window.gatescope.state.model") == ""
    expect(page.locator("#tour")).to_be_visible()


def test_a_link_with_state_is_not_a_first_visit(page: Page, console_errors: list[str]) -> None:
    first_visit(page, "?hidden=3&steps=6")
    state = page.evaluate("window.gatescope.state")
    assert state["model"] == "" and state["hidden"] == 3 and state["sub"] == -1
    expect(page.locator("#tour")).to_have_count(0)
    expect(page.locator("#random-model")).to_be_hidden()
    assert console_errors == []
