"""A bidirectional model in the explorer: both directions, the backward one read right to
left, hover values equal to the API's."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.helpers import api_trace, open_explorer, page_inputs

pytestmark = pytest.mark.e2e

BI = {"cell": "lstm", "input_size": 2, "hidden_size": 4, "num_layers": 2, "seed": 5,
      "bidirectional": True}  # fmt: skip


@pytest.mark.parametrize("layer", [0, 1])
def test_backward_direction_hover_equals_the_api_and_its_previous_step_is_t_plus_1(
    page: Page, base_url: str, console_errors: list[str], layer: int
) -> None:
    open_explorer(page, f"?hidden=4&layers=2&seed=5&bi=1&steps=10&t=4&layer={layer}")
    expect(page.locator("#direction-field")).to_be_visible()
    api = api_trace(base_url, {"model": BI, "inputs": page_inputs(page)})
    assert api["num_directions"] == 2
    forward, backward = api["layers"][layer], api["layers"][layer]["backward"]
    page.hover("#layer-f")
    cell = page.locator("#tooltip [data-testid=tip-f-1]")
    assert float(cell.get_attribute("data-value") or "nan") == forward["f"][4][1]
    page.mouse.move(0, 0)

    page.select_option("#direction-select", "backward")
    expect(page.locator("#direction-note")).to_be_visible()
    expect(page.locator("#neighbour-prev .step-label")).to_have_text("t = 5")  # read before 4
    expect(page.locator("#neighbour-next .step-label")).to_have_text("t = 3")
    assert "dir=backward" in page.url or page.evaluate("window.gatescope.state.dir") == "backward"
    for field, selector in (("f", "#layer-f"), ("g", "#layer-g"), ("c", "#op-add")):
        page.hover(selector)
        for unit in range(4):
            cell = page.locator(f"#tooltip [data-testid=tip-{field}-{unit}]")
            assert float(cell.get_attribute("data-value") or "nan") == backward[field][4][unit]
        page.mouse.move(0, 0)
    # the state the backward direction carries into step 4 is the one it left at step 5
    page.hover("#strip-c_prev-2")
    prev = page.locator("#tooltip [data-testid=tip-c_prev-2]")
    assert float(prev.get_attribute("data-value") or "nan") == backward["c"][5][2]
    page.mouse.move(0, 0)
    save_screenshot(page, f"explorer-bidirectional-backward-layer{layer}")
    assert console_errors == [], console_errors


def test_one_directional_model_hides_the_direction_choice(
    page: Page, console_errors: list[str]
) -> None:
    open_explorer(page, "?hidden=3&steps=6&dir=backward")
    expect(page.locator("#direction-field")).to_be_hidden()
    assert page.evaluate("window.gatescope.state.dir") == "forward"
    assert console_errors == []
