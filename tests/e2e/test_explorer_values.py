"""What the explorer shows equals what the API computes: hover, heatmaps, permalink, export."""

import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from playwright.sync_api import Page, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.helpers import api_trace, open_explorer, page_inputs, random_lstm

pytestmark = pytest.mark.e2e

# Which element of the chain to hover to read each field.
HOVER = {"f": "#layer-f", "i": "#layer-i", "g": "#layer-g", "o": "#layer-o", "c": "#op-add"}
HOVER["h"] = "#node-h"


@pytest.mark.parametrize("step", [0, 5, 11])
def test_hover_values_equal_the_api_trace(
    page: Page, base_url: str, console_errors: list[str], step: int
) -> None:
    open_explorer(page, f"?hidden=5&steps=12&seed=3&t={step}")
    expect(page.locator("#step-label")).to_have_text(f"t = {step}")
    api = api_trace(base_url, {"model": random_lstm(5, seed=3), "inputs": page_inputs(page)})
    layer = api["layers"][0]
    for field, selector in HOVER.items():
        page.hover(selector)
        tip = page.locator("#tooltip")
        expect(tip).to_be_visible()
        for unit in range(5):
            cell = tip.locator(f"[data-testid=tip-{field}-{unit}]")
            expected = layer[field][step][unit]
            assert float(cell.get_attribute("data-value") or "nan") == expected, (field, unit)
            assert cell.inner_text() == f"{expected:.4f}"
        assert "=" in tip.locator(".tip-eq").inner_text()  # the equation is shown
        page.mouse.move(0, 0)
    assert console_errors == []


def test_strip_cell_hover_names_the_unit_and_previous_state_is_the_step_before(
    page: Page, base_url: str
) -> None:
    open_explorer(page, "?hidden=4&steps=8&t=3")
    api = api_trace(base_url, {"model": random_lstm(4), "inputs": page_inputs(page)})
    page.hover("#strip-c_prev-2")
    cell = page.locator("#tooltip [data-testid=tip-c_prev-2]")
    assert float(cell.get_attribute("data-value") or "nan") == api["layers"][0]["c"][2][2]
    assert "current" in (page.locator("#tooltip tr.current").get_attribute("class") or "")


def test_clicking_a_heatmap_cell_selects_that_unit_and_step_everywhere(
    page: Page, console_errors: list[str]
) -> None:
    open_explorer(page, "?hidden=4&steps=20&t=0")
    canvas = page.locator("#heatmap-c canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    # Unit 2 of 4 (third row), step 15 of 20.
    canvas.click(position={"x": box["width"] * 15.5 / 20, "y": box["height"] * 2.5 / 4})
    expect(page.locator("#step-label")).to_have_text("t = 15")
    expect(page.locator("#unit-label")).to_have_text("unit 2")
    expect(page.locator("#gate-table th.selected")).to_have_text("2")
    assert page.locator("#strip-c .strip-select").get_attribute("x") == str(2 * 14 - 1)
    expect(page).to_have_url(re.compile(r"[?&]t=15(&|$)"))
    assert "unit=2" in page.url
    save_screenshot(page, "explorer-heatmap-selection")
    assert console_errors == []


def test_permalink_round_trips(page: Page, console_errors: list[str]) -> None:
    open_explorer(page, "?hidden=6&steps=16&seed=7&gen=steps&noise=0.1&d=3&t=0")
    page.click("#step-forward")
    page.click("#step-forward")
    page.click("#sub-forward")
    page.click("#sub-forward")
    page.locator("#strip-h-4").click()
    page.select_option("#speed", "2")
    expect(page.locator("#step-label")).to_have_text("t = 2")
    # The page's CSP forbids eval, so wait on the URL from here rather than with a JS predicate.
    expect(page).to_have_url(re.compile(r"(?=.*[?&]unit=4)(?=.*[?&]speed=2)"))
    url = page.url
    shown = page.locator("#gate-table").inner_text()

    page.goto("about:blank")
    page.goto(url)
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#step-label")).to_have_text("t = 2")
    assert page.locator("#lstm-chain").get_attribute("data-focus") == "i"
    assert page.input_value("#hidden-size") == "6"
    assert page.input_value("#seed") == "7"
    assert page.input_value("#gen-kind") == "steps"
    assert page.input_value("#speed") == "2"
    expect(page.locator("#gate-table th.selected")).to_have_text("4")
    assert page.locator("#gate-table").inner_text() == shown
    assert page.url == url
    assert console_errors == []


def test_typed_numbers_are_traced_and_kept_in_the_link(page: Page, base_url: str) -> None:
    open_explorer(page, "?hidden=3")
    page.fill("#numbers-input", "0.5, -1\n0.25, 0\n1, 1\n-1, 0.5")
    expect(page.locator("body[data-steps='4']")).to_be_attached()
    api = api_trace(
        base_url,
        {"model": random_lstm(3), "inputs": [[0.5, -1], [0.25, 0], [1, 1], [-1, 0.5]]},
    )
    page.click("#step-forward")
    page.click("#step-forward")
    for unit in range(3):
        cell = page.locator(f"[data-testid=value-h-{unit}]")
        assert float(cell.get_attribute("data-value") or "nan") == api["layers"][0]["h"][2][unit]
    expect(page).to_have_url(re.compile(r"[?&]gen=csv"))
    page.goto(page.url)
    expect(page.locator("body[data-steps='4']")).to_be_attached()


def test_bad_numbers_name_the_line(page: Page) -> None:
    open_explorer(page, "?hidden=3")
    page.fill("#numbers-input", "0.5, -1\n0.25\n")
    expect(page.locator("#status")).to_contain_text("Line 2")


def _download(page: Page, button: str, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        page.click(button)
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_export_gives_valid_svg_and_png(page: Page, tmp_path: Path) -> None:
    open_explorer(page, "?hidden=4&steps=12&t=3&sub=1")
    page.click("text=Share and export")
    svg_path = _download(page, "#export-svg", tmp_path)
    assert svg_path.suffix == ".svg"
    root = ET.parse(svg_path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == "1060" and root.get("height") == "570"
    ids = {el.get("id") for el in root.iter()}
    assert {"module-t", "layer-f", "op-add", "strip-c-3"} <= ids
    png_path = _download(page, "#export-png", tmp_path)
    data = png_path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (2120, 1140)
    assert len(data) > 20_000  # a drawing, not an empty canvas


def test_trace_downloads_as_json_and_csv(page: Page, base_url: str, tmp_path: Path) -> None:
    open_explorer(page, "?hidden=3&steps=5")
    page.click("text=Share and export")
    api = api_trace(base_url, {"model": random_lstm(3), "inputs": page_inputs(page)})
    got = json.loads(_download(page, "#download-json", tmp_path).read_text())
    assert got["layers"][0]["c"] == api["layers"][0]["c"]
    lines = _download(page, "#download-csv", tmp_path).read_text().splitlines()
    header = lines[0].split(",")
    assert header[:4] == ["layer", "step", "token", "unit"]
    assert len(lines) == 1 + 5 * 3
    row = dict(zip(header, lines[1 + 4 * 3 + 1].split(","), strict=True))  # step 4, unit 1
    # 9 significant digits name a float32 exactly: the page's float32 trace, digit for digit.
    assert np.float32(row["h"]) == np.float32(api["layers"][0]["h"][4][1])


def test_trace_downloads_as_safetensors_with_the_api_values(
    page: Page, base_url: str, tmp_path: Path
) -> None:
    open_explorer(page, "?hidden=3&steps=5")
    page.click("text=Share and export")
    inputs = page_inputs(page)  # the file is float64, unrounded, like the API's default
    api = api_trace(base_url, {"model": random_lstm(3), "inputs": inputs}, dtype="float64")
    path = _download(page, "#download-safetensors", tmp_path)
    assert path.name.endswith(".safetensors")
    tensors = safetensors.numpy.load(path.read_bytes())
    for field in ("i", "f", "g", "o", "c", "h"):
        assert tensors[f"layers.0.{field}"].tolist() == api["layers"][0][field]


def test_second_layer_shows_its_own_trace_with_the_first_layers_h_as_input(
    page: Page, base_url: str
) -> None:
    open_explorer(page, "?hidden=5&layers=2&layer=1&steps=10&t=6")
    expect(page.locator("#layer-field")).to_be_visible()
    model = {**random_lstm(5), "num_layers": 2}
    api = api_trace(base_url, {"model": model, "inputs": page_inputs(page)})
    page.hover("#layer-o")
    for unit in range(5):
        cell = page.locator(f"#tooltip [data-testid=tip-o-{unit}]")
        assert float(cell.get_attribute("data-value") or "nan") == api["layers"][1]["o"][6][unit]
    page.hover("#node-x")
    for unit in range(5):
        cell = page.locator(f"#tooltip [data-testid=tip-x-{unit}]")
        assert float(cell.get_attribute("data-value") or "nan") == api["layers"][0]["h"][6][unit]


def test_many_units_use_a_compact_strip_that_still_names_the_hovered_unit(
    page: Page, base_url: str
) -> None:
    open_explorer(page, "?hidden=64&d=3&steps=6&t=2")
    assert page.locator("#strip-c canvas").count() == 1
    assert page.locator("#strip-c rect[data-unit]").count() == 0
    api = api_trace(base_url, {"model": random_lstm(64, input_size=3), "inputs": page_inputs(page)})
    # 64 units in 2 rows of 32: unit 37 is row 1, column 5.
    canvas = page.locator("#strip-c canvas")
    box = canvas.bounding_box()
    assert box is not None
    at = {"x": box["width"] * 5.5 / 32, "y": box["height"] * 1.5 / 2}
    canvas.click(position=at)
    expect(page.locator("#unit-label")).to_have_text("unit 37")
    canvas.hover(position=at)
    cell = page.locator("#tooltip [data-testid=tip-c-37]")
    assert float(cell.get_attribute("data-value") or "nan") == api["layers"][0]["c"][2][37]
    expect(page.locator("#tooltip .tip-note")).to_contain_text("64")


@pytest.mark.parametrize(("cell", "fields"), [("gru", "rznh"), ("rnn_tanh", "h")])
def test_cells_without_a_chain_figure_show_heatmaps_and_values(
    page: Page, base_url: str, console_errors: list[str], cell: str, fields: str
) -> None:
    open_explorer(page, f"?cell={cell}&hidden=3&steps=8&t=4")
    expect(page.locator("#diagram")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text(cell)
    for field in fields:
        expect(page.locator(f"#heatmap-{field} canvas")).to_be_visible()
    model = {**random_lstm(3), "cell": cell}
    api = api_trace(base_url, {"model": model, "inputs": page_inputs(page)})["layers"][0]
    for field in fields:
        for unit in range(3):
            cell_el = page.locator(f"[data-testid=value-{field}-{unit}]")
            assert float(cell_el.get_attribute("data-value") or "nan") == api[field][4][unit]
    assert console_errors == []


def test_tab_reaches_the_layers_and_shows_their_values(page: Page, base_url: str) -> None:
    open_explorer(page, "?hidden=3&steps=6&t=2")
    api = api_trace(base_url, {"model": random_lstm(3), "inputs": page_inputs(page)})
    page.focus("#layer-g")
    cell = page.locator("#tooltip [data-testid=tip-g-1]")
    expect(cell).to_be_visible()
    assert float(cell.get_attribute("data-value") or "nan") == api["layers"][0]["g"][2][1]
    assert page.locator("#layer-g").get_attribute("aria-label") == "candidate cell state C̃ₜ"


def test_an_api_refusal_is_shown_with_the_field_it_names(page: Page) -> None:
    page.goto("/?hidden=5000&steps=4")
    expect(page.locator("body[data-ready=error]")).to_be_attached()
    expect(page.locator("#status")).to_contain_text("hidden_size")
    expect(page.locator("#status")).to_have_class(re.compile(r"\berror\b"))


def test_coupled_lstm_draws_its_input_gate_as_one_minus_f(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    open_explorer(page, "?cell=lstm_coupled&hidden=3&steps=6&t=2")
    expect(page.locator("#layer-i .layer-text")).to_have_text("1 − f")
    page.hover("#layer-i")
    expect(page.locator("#tooltip .tip-eq")).to_have_text("iₜ = 1 − fₜ")
    model = {**random_lstm(3), "cell": "lstm_coupled"}
    api = api_trace(base_url, {"model": model, "inputs": page_inputs(page)})["layers"][0]
    for unit in range(3):
        cell = page.locator(f"#tooltip [data-testid=tip-i-{unit}]")
        assert float(cell.get_attribute("data-value") or "nan") == api["i"][2][unit]
        assert api["i"][2][unit] == pytest.approx(1 - api["f"][2][unit], abs=1e-12)
    assert console_errors == []
