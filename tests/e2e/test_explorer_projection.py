"""An LSTM with a projection (torch's proj_size) in the explorer: the W_hr box on the h line,
its hover equal to the API's h, and the output product's hover equal to h_unprojected."""

import io
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect
from safetensors.numpy import save

from app.engine import init_params
from tests.e2e.helpers import api_trace, open_explorer, page_inputs

pytestmark = pytest.mark.e2e

H, P = 5, 3


def _upload_projected(base_url: str, layers: int) -> str:
    weights = init_params("lstm", 2, H, layers, seed=11, proj_size=P)
    blob = save({k: v.astype(np.float32) for k, v in weights.items()})
    res = httpx.post(
        f"{base_url}/api/v1/models",
        files={"file": ("proj.safetensors", io.BytesIO(blob), "application/octet-stream")},
        data={"cell": "lstm", "layout": "torch", "name": "projected"},
        timeout=30,
    )
    assert res.status_code in (200, 201), res.text
    model_id: str = res.json()["id"]
    return model_id


@pytest.mark.parametrize("layer", [0, 1])
def test_the_projection_box_shows_h_and_the_product_shows_h_unprojected(
    page: Page, base_url: str, console_errors: list[str], layer: int
) -> None:
    model_id = _upload_projected(base_url, 2)
    open_explorer(page, f"?model={model_id}&steps=8&t=3&layer={layer}")
    box = page.locator("#proj-hr")
    expect(box).to_be_visible()
    expect(box.locator("text")).to_have_text("W_hr")
    api = api_trace(base_url, {"model": {"id": model_id}, "inputs": page_inputs(page)})
    fields = api["layers"][layer]
    assert np.shape(fields["h"]) == (8, P) and np.shape(fields["h_unprojected"]) == (8, H)
    box.hover()
    tip = page.locator("#tooltip")
    expect(tip).to_be_visible()
    assert "Whr·(oₜ * tanh(Cₜ))" in tip.locator(".tip-eq").inner_text()  # W_hr, hr set low
    for unit in range(P):
        cell = tip.locator(f"[data-testid=tip-h-{unit}]")
        assert float(cell.get_attribute("data-value") or "nan") == fields["h"][3][unit]
    expect(tip.locator(f"[data-testid=tip-h-{P}]")).to_have_count(0)  # h has P units
    page.mouse.move(0, 0)
    page.hover("#op-output")
    for unit in range(H):
        cell = page.locator(f"#tooltip [data-testid=tip-h_unprojected-{unit}]")
        assert float(cell.get_attribute("data-value") or "nan") == fields["h_unprojected"][3][unit]
    page.mouse.move(0, 0)
    # the strips of h and h_{t-1} have P cells, C's H
    expect(page.locator(f"#strip-h-{P - 1}")).to_be_attached()
    expect(page.locator(f"#strip-h-{P}")).to_have_count(0)
    expect(page.locator(f"#strip-c-{H - 1}")).to_be_attached()
    assert console_errors == [], console_errors


def test_a_model_without_projection_has_no_box(page: Page, console_errors: list[str]) -> None:
    open_explorer(page, "?hidden=4&steps=5")
    expect(page.locator("#lstm-chain")).to_be_visible()
    expect(page.locator("#proj-hr")).to_have_count(0)
    assert console_errors == []


def test_the_box_is_labelled_in_chinese(page: Page, base_url: str) -> None:
    model_id = _upload_projected(base_url, 1)
    open_explorer(page, f"?model={model_id}&steps=4&lang=zh")
    label = page.locator("#proj-hr").get_attribute("aria-label") or ""
    assert label.startswith("投影 W_hr") and f"{P} 个单元" in label


def test_the_csv_of_a_projected_trace_leaves_h_empty_past_its_units(
    page: Page, base_url: str, tmp_path: Path
) -> None:
    model_id = _upload_projected(base_url, 1)
    open_explorer(page, f"?model={model_id}&steps=4")
    page.click("text=Share and export")
    api = api_trace(base_url, {"model": {"id": model_id}, "inputs": page_inputs(page)})
    with page.expect_download() as info:
        page.click("#download-csv")
    path = tmp_path / "trace.csv"
    info.value.save_as(path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert "h_unprojected" in header and len(lines) == 1 + 4 * H
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    step2 = [r for r in rows if r["step"] == "2"]
    assert [np.float32(r["h"]) for r in step2[:P]] == [
        np.float32(v) for v in api["layers"][0]["h"][2]
    ]
    assert all(r["h"] == "" for r in step2[P:])
    assert np.float32(step2[4]["h_unprojected"]) == np.float32(
        api["layers"][0]["h_unprojected"][2][4]
    )
