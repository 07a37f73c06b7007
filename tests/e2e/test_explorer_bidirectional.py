"""A bidirectional model in the explorer: two chains, the forward one left to right and the
backward one under it right to left, at the same step, focus and unit; the values on hover,
in the strips and in both directions' heatmaps equal the API's trace."""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.helpers import SLIDE_SHARE, STEP_MS, api_trace, classes, open_explorer, page_inputs

pytestmark = pytest.mark.e2e

BI = {"cell": "lstm", "input_size": 2, "hidden_size": 4, "num_layers": 2, "seed": 5,
      "bidirectional": True}  # fmt: skip
QUERY = "?hidden=4&layers=2&seed=5&bi=1&steps=10"
SUB_MS = STEP_MS * (1 - SLIDE_SHARE) / 4


def tip(page: Page, key: str, unit: int) -> float:
    cell = page.locator(f"#tooltip [data-testid=tip-{key}-{unit}]")
    return float(cell.get_attribute("data-value") or "nan")


def hover_values(page: Page, selector: str, key: str, units: int) -> list[float]:
    page.hover(selector)
    values = [tip(page, key, u) for u in range(units)]
    page.mouse.move(0, 0)
    return values


def heatmap_value(page: Page, heatmap_id: str, t: int, unit: int, steps: int, units: int) -> float:
    """Hovers the heatmap's cell (t, unit) and reads the tooltip's number."""
    canvas = page.locator(f"#{heatmap_id} canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(
        box["x"] + (t + 0.5) / steps * box["width"], box["y"] + (unit + 0.5) / units * box["height"]
    )
    value = page.locator("#tooltip [data-testid=tip-heatmap]").get_attribute("data-value")
    page.mouse.move(0, 0)
    return float(value or "nan")


# Arrows whose head ends a horizontal run (ids in the chain; the backward chain's start "bw-").
HORIZONTAL = ["cprev", "fc", "c", "i", "o", "h"]

HEAD_SCREEN_DX = """(id) => {
  const line = document.querySelector(`#${id} polyline.arrow`);
  const pts = line.points;
  const m = line.getScreenCTM();
  const a = new DOMPoint(pts[pts.length - 2].x, pts[pts.length - 2].y).matrixTransform(m);
  const b = new DOMPoint(pts[pts.length - 1].x, pts[pts.length - 1].y).matrixTransform(m);
  return { dx: b.x - a.x, dy: b.y - a.y, head: line.getAttribute("marker-end") };
}"""


def centre_x(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2


@pytest.mark.parametrize("layer", [0, 1])
def test_both_chains_show_the_api_values_of_their_direction(
    page: Page, base_url: str, console_errors: list[str], layer: int
) -> None:
    open_explorer(page, f"{QUERY}&t=4&layer={layer}")
    expect(page.locator("#lstm-chain-backward")).to_be_visible()
    expect(page.locator("#chain-label-backward")).to_be_visible()
    expect(page.locator("#direction-note")).to_be_visible()
    api = api_trace(base_url, {"model": BI, "inputs": page_inputs(page)})
    assert api["num_directions"] == 2
    forward, backward = api["layers"][layer], api["layers"][layer]["backward"]
    assert forward["f"][4] != backward["f"][4]  # two different directions, not one drawn twice
    for field, target in (("f", "layer-f"), ("i", "layer-i"), ("g", "layer-g"), ("o", "layer-o"),
                          ("c", "op-add"), ("h", "op-output")):  # fmt: skip
        assert hover_values(page, f"#{target}", field, 4) == forward[field][4]
        assert hover_values(page, f"#bw-{target}", field, 4) == backward[field][4]
    # Each chain carries in the state of the step it read just before: 3 forward, 5 backward.
    assert hover_values(page, "#strip-c_prev-2", "c_prev", 4) == forward["c"][3]
    assert hover_values(page, "#bw-strip-c_prev-2", "c_prev", 4) == backward["c"][5]
    assert hover_values(page, "#bw-strip-h_prev-0", "h_prev", 4) == backward["h"][5]
    expect(page.locator("#neighbour-prev .step-label")).to_have_text("t = 3")
    expect(page.locator("#neighbour-next .step-label")).to_have_text("t = 5")
    expect(page.locator("#bw-neighbour-prev .step-label")).to_have_text("t = 5")  # read before 4
    expect(page.locator("#bw-neighbour-next .step-label")).to_have_text("t = 3")
    page.hover("#bw-layer-f")
    expect(page.locator("#tooltip .tip-title")).to_contain_text("← backward")
    page.mouse.move(0, 0)
    # Both directions' heatmaps, labelled, in input order: cell (t, u) is the API's [t][u].
    expect(page.locator("#heatmaps-forward h3")).to_contain_text("Forward")
    expect(page.locator("#heatmaps-backward h3")).to_contain_text("Backward")
    for field in ("f", "c", "h"):
        expect(page.locator(f"#heatmap-bw-{field} .heatmap-title")).to_contain_text("← backward")
        for t, unit in ((0, 0), (4, 1), (9, 3)):
            fwd, bwd = forward[field][t][unit], backward[field][t][unit]
            assert heatmap_value(page, f"heatmap-{field}", t, unit, 10, 4) == fwd
            assert heatmap_value(page, f"heatmap-bw-{field}", t, unit, 10, 4) == bwd
    save_screenshot(page, f"explorer-bidirectional-layer{layer}")
    assert console_errors == [], console_errors


def test_the_backward_chain_runs_right_to_left(page: Page, console_errors: list[str]) -> None:
    open_explorer(page, f"{QUERY}&t=4")
    for name in HORIZONTAL:
        fwd: dict[str, Any] = page.evaluate(HEAD_SCREEN_DX, f"path-{name}")
        bwd: dict[str, Any] = page.evaluate(HEAD_SCREEN_DX, f"bw-path-{name}")
        assert fwd["head"] == "url(#head)" and bwd["head"] == "url(#bw-head)", (fwd, bwd)
        assert abs(fwd["dy"]) < 0.5 and abs(bwd["dy"]) < 0.5, (name, fwd, bwd)
        assert fwd["dx"] > 5, (name, fwd)  # the head points right
        assert bwd["dx"] < -5, (name, bwd)  # and in the backward chain left
    # The heads' marker turns with its line (auto-start-reverse): one marker serves both ways.
    assert page.get_attribute("#bw-head", "orient") == "auto-start-reverse"
    # The cell-state belt: C_{t+1} enters on the right, meets x then +, and leaves on the left.
    assert centre_x(page, "#op-forget") < centre_x(page, "#op-add")
    assert centre_x(page, "#bw-op-forget") > centre_x(page, "#bw-op-add")
    right, middle = centre_x(page, "#bw-neighbour-prev"), centre_x(page, "#bw-module-t")
    assert right > middle > centre_x(page, "#bw-neighbour-next")
    # Step columns line up: t - 1 on the left and t + 1 on the right in both chains.
    assert abs(centre_x(page, "#neighbour-prev") - centre_x(page, "#bw-neighbour-next")) < 1
    expect(page.locator("#bw-strip-c_prev .strip-caption")).to_have_text("Cₜ₊₁")
    assert console_errors == [], console_errors


def test_one_unit_one_step_one_focus_in_both_chains(page: Page, console_errors: list[str]) -> None:
    page.clock.install(time=0)
    open_explorer(page, f"{QUERY}&t=4&unit=0")
    page.clock.pause_at(10_000)
    page.click("#bw-strip-f-3")  # a unit picked in the backward chain
    assert page.evaluate("window.gatescope.state.unit") == 3
    for chain in ("", "bw-"):
        for strip in ("f", "c", "h_prev"):
            marker = page.get_attribute(f"#{chain}strip-{strip} .strip-select", "x") or "nan"
            cell = page.get_attribute(f"#{chain}strip-{strip}-3", "x") or "nan"
            assert float(marker) == float(cell) - 1, (chain, strip)  # the outline 1 unit outside
    for heatmap in ("heatmap-c", "heatmap-bw-c"):
        assert page.locator(f"#{heatmap} .heatmap-row").evaluate("e => e.style.top") == "75%"
    # A step picked in the backward direction's heatmap moves both chains.
    canvas = page.locator("#heatmap-bw-f canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 7.5 / 10 * box["width"], box["y"] + 1.5 / 4 * box["height"])
    assert page.evaluate("[window.gatescope.state.t, window.gatescope.state.unit]") == [7, 1]
    expect(page.locator("#neighbour-prev .step-label")).to_have_text("t = 6")
    expect(page.locator("#bw-neighbour-prev .step-label")).to_have_text("t = 8")
    cursors = [
        page.locator(f"#{h} .heatmap-cursor").evaluate("e => e.style.transform")
        for h in ("heatmap-f", "heatmap-bw-f")
    ]
    assert cursors[0] == cursors[1] and cursors[0], cursors
    # The focus sub-steps light the same path in both chains.
    page.click("#sub-forward")
    for svg, chain in (("#lstm-chain", ""), ("#lstm-chain-backward", "bw-")):
        assert page.get_attribute(svg, "data-focus") == "f"
        assert "lit" in classes(page, f"#{chain}path-f")
        assert "faded" in classes(page, f"#{chain}layer-o")
    # Playing, C_t and h_t slide on to the next step read: right going forward, left backward.
    page.click("#play")
    page.clock.run_for(SUB_MS * 4 + STEP_MS * SLIDE_SHARE / 2)  # half way through the slide
    assert page.get_attribute("#lstm-chain-backward", "data-focus") == "slide"
    moves = [page.get_attribute(f"#{c}carry", "transform") or "" for c in ("", "bw-")]
    shifts = [float(m.removeprefix("translate(").split(",")[0]) for m in moves]
    assert shifts[0] > 50 and shifts[1] == -shifts[0], shifts
    page.click("#play")
    save_screenshot(page, "explorer-bidirectional-selected")
    assert console_errors == [], console_errors


def test_a_bidirectional_gru_labels_both_directions_heatmaps(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    open_explorer(page, "?cell=gru&hidden=3&seed=2&bi=1&steps=6&t=2")
    gru = {"cell": "gru", "input_size": 2, "hidden_size": 3, "seed": 2, "bidirectional": True}
    layer = api_trace(base_url, {"model": gru, "inputs": page_inputs(page)})["layers"][0]
    for field in ("r", "z", "n", "h"):
        expect(page.locator(f"#heatmaps-backward #heatmap-bw-{field}")).to_be_visible()
        back = layer["backward"][field][5][2]
        assert heatmap_value(page, f"heatmap-bw-{field}", 5, 2, 6, 3) == back
        assert heatmap_value(page, f"heatmap-{field}", 5, 2, 6, 3) == layer[field][5][2]
    assert console_errors == [], console_errors


def test_one_directional_model_looks_as_before(page: Page, console_errors: list[str]) -> None:
    open_explorer(page, "?hidden=3&steps=6&dir=backward")
    expect(page.locator("#direction-field")).to_be_hidden()
    expect(page.locator("#lstm-chain-backward")).to_be_hidden()
    expect(page.locator("#chain-label-forward")).to_be_hidden()
    expect(page.locator("#direction-note")).to_be_hidden()
    assert page.locator("#lstm-chain-backward *").count() == 0
    assert page.locator("#heatmaps .heatmap-group").count() == 0
    expect(page.locator("#heatmap-f .heatmap-title")).to_have_text("fₜ · forget gate")
    assert page.evaluate("window.gatescope.state.dir") == "forward"
    assert console_errors == []
