"""/train in real Chromium: the default race streams and its curves move; pause, one update,
reset; a permalink reproduces the loss to the last digit shown; "Open in explorer" opens the
trained LSTM with its memory unit, whose forget gate stays above 0.9 across the gap; limits
shown as the server words them; both languages; the header and site nav link to it."""

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.api.train_schemas import TrainStart
from tests.conftest import LiveServer, start_server, stop_server
from tests.e2e.conftest import save_screenshot

pytestmark = pytest.mark.e2e

TIMEOUT = 60_000  # the default race finishes in a few seconds of server time


def open_train(page: Page, query: str = "") -> None:
    page.goto(f"/train{query}")
    expect(page.locator("#train-page[data-ready=true]")).to_be_attached()


def phase(page: Page, name: str, timeout: int = TIMEOUT) -> None:
    expect(page.locator("#train-page")).to_have_attribute("data-state", name, timeout=timeout)


def step_of(page: Page) -> int:
    return int(page.locator("#train-step-count").get_attribute("data-step") or "0")


def snapshots(page: Page) -> int:
    return int(page.locator("#train-step-count").get_attribute("data-snapshots") or "0")


def until(check: Callable[[], bool], timeout_s: float = TIMEOUT / 1000) -> None:
    """Polls from Python: the page's CSP forbids the eval behind wait_for_function."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def losses(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".train-loss").all_text_contents()]


def test_default_race_plays_pauses_steps_and_resets(page: Page, console_errors: list[str]) -> None:
    open_train(page, "?lang=en")
    phase(page, "ready")
    defaults = TrainStart.model_fields
    cells = defaults["cells"].get_default(call_default_factory=True)
    expect(page.locator(".train-run")).to_have_count(len(cells))
    assert [page.locator(f"#train-cell-{k}").input_value() for k in range(len(cells))] == cells
    assert page.locator("#train-hidden").input_value() == str(defaults["hidden"].default)
    assert step_of(page) == 0
    page.click("#train-play")
    until(lambda: snapshots(page) >= 6)
    first = page.locator("#train-0-loss-loss").get_attribute("d")
    assert first and first.startswith("M")
    until(lambda: snapshots(page) >= 12)
    page.click("#train-play")  # pause
    phase(page, "paused")
    later = page.locator("#train-0-loss-loss").get_attribute("d")
    assert later and later != first  # the curve moved
    stopped_at, count = step_of(page), snapshots(page)
    page.wait_for_timeout(1000)
    assert (step_of(page), snapshots(page)) == (stopped_at, count)  # the stream stopped
    assert step_of(page) < defaults["steps"].default
    page.click("#train-step")
    until(lambda: step_of(page) == stopped_at + 1)
    expect(page.locator("#train-loss-0")).to_have_attribute("data-step", str(stopped_at + 1))
    page.wait_for_timeout(300)
    assert step_of(page) == stopped_at + 1  # exactly one update
    # The scrub slider goes back to an earlier snapshot: the curves mark it.
    page.locator("#train-scrub").fill("2")
    marked = page.locator("#train-0-loss-marker").get_attribute("data-x")
    expect(page.locator("#train-scrub-step")).to_have_text(f"update {marked}")
    assert int(marked or "-1") < stopped_at
    save_screenshot(page, "train-paused")
    page.click("#train-reset")
    phase(page, "ready")
    assert step_of(page) == 0
    expect(page.locator("#train-loss-0")).to_have_attribute("data-step", "0")
    assert console_errors == []


def test_a_permalink_reproduces_the_loss_digits(page: Page, console_errors: list[str]) -> None:
    open_train(page, "?steps=120&every=20&seed=3&hidden=6")
    page.click("#train-play")
    phase(page, "finished")
    shown = losses(page)
    assert all(re.fullmatch(r"\d\.\d{3}|\d+\.\d+e[-+]\d+|0\.\d{4,}", v) for v in shown), shown
    link = page.locator("#train-permalink").get_attribute("href")
    assert link and "play=1" in link and "seed=3" in link and "steps=120" in link
    other = page.context.new_page()
    other.goto(link)
    phase(other, "finished")
    assert step_of(other) == 120
    assert losses(other) == shown
    held = [t for t in other.locator(".train-held").all_text_contents()]
    assert held == page.locator(".train-held").all_text_contents()
    other.close()
    assert console_errors == []


def forget_gate(base_url: str, model_id: str, text: str) -> list[list[float]]:
    body = {"model": {"id": model_id}, "text": text}
    res = httpx.post(f"{base_url}/api/v1/trace", json=body, timeout=30)
    assert res.status_code == 200, res.text
    f: list[list[float]] = res.json()["layers"][0]["f"]
    return f


def test_open_in_explorer_after_the_lstm_learned(
    page: Page, console_errors: list[str], base_url: str
) -> None:
    open_train(page, "?lang=en&play=1")
    phase(page, "finished")
    held = float(page.locator("#train-held-0").get_attribute("data-value") or "0")
    assert held >= 0.95, held
    page.locator("#train-scrub").fill("14")  # the views at the update the LSTM found the memory
    page.locator("#train-scrub").blur()
    save_screenshot(page, "train", readme=True)
    page.locator("#train-scrub").fill(page.locator("#train-scrub").get_attribute("max") or "0")
    # Saved first: an uploaded model with its training record, listed by the API. (Saved after
    # "Open in explorer", the server answers with the session copy of the same weights.)
    page.fill("#train-save-name-0", "memory race")
    page.click("#train-save-0")
    saved = page.locator("#train-explorer-link-0")
    expect(saved).to_contain_text("memory race", timeout=TIMEOUT)
    saved_id = saved.get_attribute("data-model-id")
    meta = httpx.get(f"{base_url}/api/v1/models/{saved_id}", timeout=10).json()
    assert meta["name"] == "memory race" and meta["cell"] == "lstm"
    with page.expect_popup() as popup_info:
        page.click("#train-open-0")
    popup = popup_info.value
    popup.wait_for_url(re.compile(r".*model=.*"), timeout=TIMEOUT)
    expect(popup.locator("body[data-ready=true]")).to_be_attached(timeout=TIMEOUT)
    query = parse_qs(urlparse(popup.url).query)
    model_id, unit = query["model"][0], int(query["unit"][0])
    link = page.locator("#train-explorer-link-0")
    expect(link).to_have_attribute("data-model-id", model_id)
    assert query["lang"] == ["en"] and query["field"] == ["f"]
    # The explorer shows that model with the memory unit selected.
    app_state: dict[str, Any] = popup.evaluate("window.gatescope.state")
    assert app_state["model"] == model_id and app_state["unit"] == unit
    # The memory unit's forget gate across the gap: the fillers between "France" and "speak".
    tokens = query["text"][0].split(" ")
    f = forget_gate(base_url, model_id, query["text"][0])
    gap = range(5, len(tokens) - 1)
    across = [f[t][unit] for t in gap]
    assert min(across) > 0.9, across
    save_screenshot(popup, "train-open-explorer", readme=True)
    popup.close()
    assert console_errors == []


def test_the_servers_limits_are_shown_as_it_words_them(page: Page) -> None:
    open_train(page, "?hidden=65&lang=en")
    expect(page.locator("#train-error")).to_contain_text("hidden is 65, the limit is 64")
    expect(page.locator("#train-limits")).to_contain_text("64 hidden units")
    page.fill("#train-hidden", "8")
    page.locator("#train-hidden").dispatch_event("change")
    phase(page, "ready")
    expect(page.locator("#train-error")).to_have_text("")


@pytest.mark.parametrize(
    ("lang", "title", "nav"), [("en", "Watch it learn", "Train"), ("zh", "看它学习", "训练")]
)
def test_both_languages_render(
    page: Page, console_errors: list[str], lang: str, title: str, nav: str
) -> None:
    open_train(page, f"?lang={lang}")
    phase(page, "ready")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".site-nav [aria-current=page]")).to_have_text(nav)
    if lang == "zh":
        expect(page.locator("#train-run-1")).to_contain_text("没有门")
        expect(page.locator("#train-task option[value=sine]")).to_have_text("正弦（预测下一个值）")
    save_screenshot(page, f"train-{lang}")
    assert console_errors == []


@pytest.mark.parametrize(("lang", "label"), [("en", "Train"), ("zh", "训练")])
def test_header_and_site_nav_link_to_train(page: Page, lang: str, label: str) -> None:
    # /train writes every setting into its URL as soon as it runs, so the address it lands on
    # may already be longer than the link's
    landed = re.compile(rf"/train\?lang={lang}(&|$)")
    page.goto(f"/?lang={lang}")
    page.locator(".header-nav").get_by_text(label, exact=True).click()
    page.wait_for_url(landed)
    page.goto(f"/compare?lang={lang}")
    page.locator(".site-nav").get_by_text(label, exact=True).click()
    page.wait_for_url(landed)
    expect(page.locator("#train-page")).to_be_attached()


def test_markup_in_the_link_is_shown_as_text(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    payload = "<img src=x onerror=alert(1)>"
    open_train(page, f"?task={payload}")
    expect(page.locator("#train-error")).to_contain_text("task")
    assert page.locator("#train-error img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with small training limits: 1e6 of work a run (the default race's runs cost
    about 6e3 an update), two runs in all, 3 s of idling."""
    env = {
        "GATESCOPE_TRAIN_RUN_BUDGET": "1000000",
        "GATESCOPE_TRAIN_MAX_RUNS": "2",
        "GATESCOPE_TRAIN_IDLE_S": "3",
    }
    server = start_server(tmp_path_factory.mktemp("tight"), env)
    yield server
    stop_server(server)


def test_budget_idle_and_a_full_server_are_said_plainly(
    page: Page, tight_server: LiveServer
) -> None:
    page.goto(f"{tight_server.url}/train?lang=en")
    phase(page, "ready")
    # The two runs hold the server's two places: the next page is told the server is full.
    other = page.context.new_page()
    other.goto(f"{tight_server.url}/train?lang=en")
    expect(other.locator("#train-error")).to_contain_text("The server is full", timeout=TIMEOUT)
    expect(other.locator("#train-error")).to_contain_text("train_max_runs")
    other.close()
    page.click("#train-play")
    phase(page, "stopped")
    expect(page.locator("#train-stopped-0")).to_contain_text("compute budget")
    expect(page.locator("#train-error")).to_contain_text("compute budget")
    assert 0 < step_of(page) < 600
    expect(page.locator("#train-play")).to_be_disabled()
    page.click("#train-reset")  # a new race: its own budget
    phase(page, "ready")
    phase(page, "idle", timeout=15_000)  # left paused: the server lets it go
    expect(page.locator("#train-error")).to_contain_text("sat paused too long")
    page.click("#train-play")  # starts again, and trains
    until(lambda: step_of(page) > 0)


@pytest.mark.parametrize(
    ("query", "cells"),
    [
        ("task=sine&cells=gru,lstm_coupled&steps=40&every=20", ["gru", "lstm_coupled"]),
        ("task=bracket-depth&cells=lstm_peephole&steps=40&every=20", ["lstm_peephole"]),
    ],
)
def test_other_tasks_and_cells_train_and_draw(
    page: Page, console_errors: list[str], query: str, cells: list[str]
) -> None:
    open_train(page, f"?lang=en&play=1&{query}")
    phase(page, "finished")
    expect(page.locator(".train-run")).to_have_count(len(cells))
    assert step_of(page) == 40
    for k, cell in enumerate(cells):
        expect(page.locator(f"#train-run-{k}")).to_have_attribute("data-cell", cell)
        held = page.locator(f"#train-held-{k}").get_attribute("data-value")
        assert held is not None and float(held) >= 0
        assert page.locator(f"#train-run-{k} .heatmap").count() >= 4  # gates and states
    expect(page.locator("#train-gap-field")).to_be_hidden()
    assert console_errors == []
