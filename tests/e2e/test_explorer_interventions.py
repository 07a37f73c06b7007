"""Clamps from the UI, an uploaded PyTorch-layout model with a vocabulary, and live typing."""

import io
import json
import re

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.helpers import api_has, api_trace, open_explorer, page_inputs, random_lstm

pytestmark = pytest.mark.e2e

VOCAB = list("abcdefgh ")


def test_clamp_changes_the_trace_as_the_engine_says(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    if not api_has(base_url, "", request_field="clamp"):
        open_explorer(page, "?hidden=4")
        expect(page.locator("#clamp-apply")).to_be_disabled()
        pytest.fail("the API has no clamps (issue 4)")
    open_explorer(page, "?hidden=4&steps=12&t=5")
    page.click("text=Clamp a gate")
    page.select_option("#clamp-field", "f")
    page.fill("#clamp-value", "1")
    page.fill("#clamp-units", "0-1")
    page.fill("#clamp-steps", "3-6")
    page.click("#clamp-apply")
    expect(page.locator("#clamp-compare")).to_be_visible()
    clamp = [{"field": "f", "value": 1.0, "units": [0, 1], "steps": [3, 4, 5, 6], "layer": 0}]
    body = {"model": random_lstm(4), "inputs": page_inputs(page)}
    clamped = api_trace(base_url, {**body, "clamp": clamp})["layers"][0]
    original = api_trace(base_url, body)["layers"][0]
    assert clamped["f"][5][0] == 1.0 and clamped["f"][5][1] == 1.0
    for field in ("f", "c", "h"):
        for unit in range(4):
            cell = page.locator(f"[data-testid=value-{field}-{unit}]")
            assert float(cell.get_attribute("data-value") or "nan") == clamped[field][5][unit]
    assert "clamped" in (page.locator("#layer-f").get_attribute("class") or "")
    page.hover("#op-add")  # C_t: recomputed value beside the original
    rows = page.locator("#tooltip tbody tr")
    for unit in range(4):
        cells = rows.nth(unit).locator("td")
        assert cells.nth(1).inner_text() == f"{clamped['c'][5][unit]:.4f}"
        assert cells.nth(2).inner_text() == f"{original['c'][5][unit]:.4f}"
    save_screenshot(page, "explorer-clamp")
    assert "clamp=f" in page.url
    page.goto(page.url)  # the clamp is part of the permalink
    expect(page.locator("#clamp-compare")).to_be_visible()
    assert console_errors == []


def _upload_text_model(base_url: str) -> str:
    from safetensors.numpy import save

    rng = np.random.default_rng(4)
    hidden, inputs = 6, len(VOCAB)
    weights = {
        "weight_ih_l0": rng.uniform(-0.6, 0.6, (4 * hidden, inputs)),
        "weight_hh_l0": rng.uniform(-0.6, 0.6, (4 * hidden, hidden)),
        "bias_ih_l0": rng.uniform(-0.3, 0.3, 4 * hidden),
        "bias_hh_l0": rng.uniform(-0.3, 0.3, 4 * hidden),
    }
    blob = save({k: v.astype(np.float32) for k, v in weights.items()})
    res = httpx.post(
        f"{base_url}/api/v1/models",
        files={"file": ("chars.safetensors", io.BytesIO(blob), "application/octet-stream")},
        data={"cell": "lstm", "layout": "torch", "name": "chars", "vocab": json.dumps(VOCAB)},
        timeout=30,
    )
    assert res.status_code == 201, res.text
    model_id: str = res.json()["id"]
    return model_id


def test_uploaded_text_model_colours_the_text_and_steps_live_as_one_types(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    # WebSocket routes are not in the OpenAPI document: ask the page what the server has.
    open_explorer(page)
    body = page.locator("body")
    if (
        body.get_attribute("data-api-models") != "true"
        or body.get_attribute("data-api-live") != "true"
    ):
        pytest.fail("the API has no uploads or live stepping (issue 4)")
    model_id = _upload_text_model(base_url)
    frames: list[str] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_socket)
    open_explorer(page, f"?model={model_id}&text=abc")
    expect(page.locator("#text-view-box")).to_be_visible()
    expect(page.locator("#text-view .tok")).to_have_count(3)
    textarea = page.locator("#text-input")
    textarea.click()
    textarea.press("End")
    textarea.press_sequentially("hea d", delay=30)
    text = "abchea d"
    expect(page.locator("#step-label")).to_have_text(f"t = {len(text) - 1}")
    assert len(frames) >= 5  # each typed character went over the WebSocket
    api = api_trace(base_url, {"model": {"id": model_id}, "text": text})["layers"][0]
    page.hover("#layer-i")
    for unit in range(6):
        cell = page.locator(f"#tooltip [data-testid=tip-i-{unit}]")
        assert float(cell.get_attribute("data-value") or "nan") == pytest.approx(
            api["i"][len(text) - 1][unit], abs=1e-5
        )
    textarea.press("Backspace")
    expect(page.locator("#step-label")).to_have_text(f"t = {len(text) - 2}")
    # Text coloured by the selected unit's cell state.
    page.locator("#heatmap-c canvas").click(position={"x": 2, "y": 2})
    span = page.locator("#text-view .tok").nth(3)
    assert span.evaluate("el => getComputedStyle(el).backgroundColor") != "rgba(0, 0, 0, 0)"
    save_screenshot(page, "explorer-text-model")
    assert console_errors == []


def test_a_built_in_model_plays_and_shows_the_apis_numbers(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    res = httpx.get(f"{base_url}/api/v1/models", timeout=10)
    models = res.json().get("models", []) if res.status_code == 200 else []
    built_in = [m for m in models if m.get("source") == "builtin" and m["cell"].startswith("lstm")]
    if not built_in:
        pytest.fail("the server ships no built-in LSTM (issue 6)")
    # The bracket counter makes the best picture; any built-in LSTM will do for the checks.
    info = next((m for m in built_in if m["id"] == "bracket-depth-lstm"), built_in[0])
    info = httpx.get(f"{base_url}/api/v1/models/{info['id']}", timeout=10).json()
    open_explorer(page, f"?model={info['id']}&t=9")
    expect(page.locator("#model-select")).to_have_value(info["id"])
    expect(page.locator("#step-label")).to_have_text("t = 9")
    named = [u for u in info.get("units") or [] if isinstance(u.get("unit"), int)]
    if named:  # the first unit the model names is selected, with a button for each
        expect(page.locator("#unit-label")).to_have_text(f"unit {named[0]['unit']}")
        expect(page.locator("#model-units .unit-pick")).to_have_count(len(named))
        label = named[0]["label"]["en"]
        expect(page.locator("#model-units .unit-pick").first).to_contain_text(label)
    if info.get("vocab"):
        body = {"text": page.input_value("#text-input")}
    else:
        body = {"inputs": page_inputs(page)}
    api = api_trace(base_url, {"model": {"id": info["id"]}, **body})["layers"][0]
    page.hover("#layer-f")
    selected = named[0]["unit"] if named else 0
    # Up to 32 units the tooltip lists them all; above, the selected one.
    units = range(info["hidden_size"]) if info["hidden_size"] <= 32 else [selected]
    for unit in units:
        cell = page.locator(f"#tooltip [data-testid=tip-f-{unit}]")
        assert float(cell.get_attribute("data-value") or "nan") == api["f"][9][unit]
    save_screenshot(page, "explorer-builtin", readme=True)
    assert console_errors == []


def test_a_word_model_steps_live_one_word_at_a_time(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    res = httpx.get(f"{base_url}/api/v1/models/delayed-recall-lstm", timeout=10)
    if res.status_code != 200:
        pytest.fail("the built-in delayed-recall-lstm is missing from this build")
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda p: frames.append(str(p))))
    open_explorer(page, "?model=delayed-recall-lstm&text=I+grew+up+in+Japan")
    expect(page.locator("#text-input-label")).to_contain_text("word")
    textarea = page.locator("#text-input")
    textarea.click()
    textarea.press("End")
    textarea.press_sequentially(" then we moved speak", delay=20)
    text = "I grew up in Japan then we moved speak"
    expect(page.locator("#step-label")).to_have_text("t = 8")
    assert '{"type":"step","token":"moved"}' in frames
    live = {"model": {"id": "delayed-recall-lstm"}, "text": text}
    api = api_trace(base_url, live, dtype="float64")["layers"][0]
    page.hover("#op-add")
    for unit in range(16):
        cell = page.locator(f"#tooltip [data-testid=tip-c-{unit}]")
        assert float(cell.get_attribute("data-value") or "nan") == pytest.approx(
            api["c"][8][unit], abs=1e-9
        )
    expect(page.locator("#text-view")).to_have_text(text + " ")
    textarea.press_sequentially(" Frxx ", delay=20)
    expect(page.locator("#status")).to_contain_text('"Frxx"')
    assert console_errors == []


def test_switching_models_in_the_picker_keeps_the_page_consistent(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    ids = [m["id"] for m in httpx.get(f"{base_url}/api/v1/models", timeout=10).json()["models"]]
    if not {"bracket-depth-lstm", "sine-lstm"} <= set(ids):
        pytest.fail("the built-in bracket-depth-lstm and sine-lstm have not shipped yet")
    open_explorer(page, "?model=bracket-depth-lstm&t=5")
    page.select_option("#model-select", "")  # a random LSTM: 4 units, no vocabulary
    expect(page.locator("#random-fields")).to_be_visible()
    expect(page.locator("#step-label")).to_have_text("t = 0")
    expect(page).to_have_url(re.compile(r"/\?t=0$"))
    page.select_option("#model-select", "sine-lstm")  # numbers, its own example input
    expect(page.locator("#number-editor")).to_be_visible()
    expect(page).to_have_url(re.compile(r"model=sine-lstm&gen=example"))
    info = httpx.get(f"{base_url}/api/v1/models/sine-lstm", timeout=10).json()
    api = api_trace(base_url, {"model": {"id": "sine-lstm"}, "inputs": info["example"]})
    page.click("#step-forward")
    h = page.locator("[data-testid=value-h-0]")
    assert float(h.get_attribute("data-value") or "nan") == api["layers"][0]["h"][1][0]
    assert console_errors == []
