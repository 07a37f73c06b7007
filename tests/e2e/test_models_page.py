"""/models in real Chromium: the guide in both languages, drag and drop, and an upload
through the page that lands in the model list with a working explorer link."""

from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect
from safetensors.numpy import load_file, save_file

from tests.conftest import skip_or_fail


def has_upload(base_url: str) -> bool:
    spec = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    return "post" in spec.get("paths", {}).get("/api/v1/models", {})


def lstm_file(path: Path, seed: int, d: int = 2, h: int = 3) -> Path:
    """A tiny nn.LSTM state_dict under PyTorch's names, as safetensors."""
    rng = np.random.default_rng(seed)
    tensors = {
        "weight_ih_l0": rng.normal(size=(4 * h, d)).astype(np.float32),
        "weight_hh_l0": rng.normal(size=(4 * h, h)).astype(np.float32),
        "bias_ih_l0": rng.normal(size=(4 * h,)).astype(np.float32),
        "bias_hh_l0": rng.normal(size=(4 * h,)).astype(np.float32),
    }
    save_file(tensors, str(path))
    return path


def open_models(page: Page, query: str = "?lang=en") -> None:
    page.goto(f"/models{query}")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=20_000)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_and_guide_render_without_console_errors(
    page: Page, console_errors: list[str], lang: str
) -> None:
    open_models(page, f"?lang={lang}")
    # built-in models are listed by their name in the page's language
    name = {"en": "Bracket depth (LSTM)", "zh": "括号深度（LSTM）"}[lang]
    expect(page.get_by_text(name, exact=True)).to_be_visible()
    expect(page.locator(".guide pre").first).to_contain_text("save_file(model.state_dict()")
    expect(page.locator(".guide pre").nth(1)).to_contain_text("np.savez")
    assert console_errors == []


def test_dropping_a_file_selects_it(page: Page, tmp_path: Path) -> None:
    open_models(page)
    data = lstm_file(tmp_path / "dropped.safetensors", 1).read_bytes()
    page.evaluate(
        """([bytes, name]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name));
            const zone = document.getElementById("dropzone");
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
        }""",
        [list(data), "dropped.safetensors"],
    )
    expect(page.locator("#drop-file")).to_contain_text("dropped.safetensors")
    expect(page.locator("#upload-name")).to_have_value("dropped")


def test_upload_through_the_page(page: Page, base_url: str, tmp_path: Path) -> None:
    if not has_upload(base_url):
        skip_or_fail("the server has no POST /api/v1/models yet")
    open_models(page)
    file = lstm_file(tmp_path / "mine.safetensors", 7)
    page.locator("#upload-file").set_input_files(str(file))
    page.locator("#upload-name").fill("<img src=x onerror=alert(1)> mine")
    page.locator("#upload-cell").select_option("lstm")
    page.locator("#upload-submit").click()
    expect(page.locator("#upload-result")).to_be_visible(timeout=20_000)
    model_id = page.locator("#uploaded-id").inner_text()
    assert model_id
    row = page.locator(f"#models-table tr[data-id='{model_id}']")
    expect(row).to_be_visible()
    expect(row.locator("td").first).to_have_text("<img src=x onerror=alert(1)> mine")
    assert page.locator("#models-table img").count() == 0
    link = row.locator("a.open-explorer").get_attribute("href") or ""
    assert f"model={model_id}" in link
    # The id is the model the API serves: it traces.
    res = httpx.post(
        f"{base_url}/api/v1/trace",
        json={"model": {"id": model_id}, "inputs": [[0.5, -1.0]]},
        timeout=30,
    )
    assert res.status_code == 200, res.text
    expect(page.locator("#model-detail")).to_have_attribute("data-id", model_id)


def test_an_upload_shows_the_tensors_it_left_out(page: Page, base_url: str, tmp_path: Path) -> None:
    if not has_upload(base_url):
        skip_or_fail("the server has no POST /api/v1/models yet")
    open_models(page)
    rng = np.random.default_rng(8)
    path = lstm_file(tmp_path / "with-norm.safetensors", 8)
    tensors = load_file(str(path)) | {
        "norm.weight": np.ones(3, dtype=np.float32),  # a norm over h: the head is not guessed
        "head.weight": rng.normal(size=(4, 3)).astype(np.float32),
        "head.bias": np.zeros(4, dtype=np.float32),
    }
    save_file(tensors, str(path))
    page.locator("#upload-file").set_input_files(str(path))
    page.locator("#upload-cell").select_option("lstm")
    page.locator("#upload-submit").click()
    expect(page.locator("#upload-result")).to_be_visible(timeout=20_000)
    expect(page.locator("#uploaded-readout")).to_have_text(
        "No readout: only the recurrent layers are traced."
    )
    items = page.locator("#uploaded-ignored li")
    expect(items).to_have_count(3)
    expect(page.locator("#uploaded-ignored summary")).to_contain_text("3 tensors")
    expect(items.filter(has_text="head.weight")).to_contain_text("norm has 3 numbers")


def test_the_reasons_are_in_chinese_on_the_chinese_page(
    page: Page, base_url: str, tmp_path: Path
) -> None:
    if not has_upload(base_url):
        skip_or_fail("the server has no POST /api/v1/models yet")
    open_models(page, "?lang=zh")
    path = lstm_file(tmp_path / "extra.safetensors", 9)
    save_file(
        load_file(str(path)) | {"stray.weight": np.ones((2, 2, 2), dtype=np.float32)}, str(path)
    )
    page.locator("#upload-file").set_input_files(str(path))
    page.locator("#upload-cell").select_option("lstm")
    page.locator("#upload-submit").click()
    expect(page.locator("#upload-result")).to_be_visible(timeout=20_000)
    item = page.locator("#uploaded-ignored li")
    expect(item).to_have_text("stray.weight: 既不属于循环模块，也不是嵌入层或读出层")
    assert (
        item.get_attribute("title")
        == "not part of the recurrent module, its embedding or its readout"
    )


def test_every_model_lists_its_direction_count(page: Page, base_url: str, tmp_path: Path) -> None:
    if not has_upload(base_url):
        skip_or_fail("the server has no POST /api/v1/models yet")
    one = load_file(str(lstm_file(tmp_path / "fwd.safetensors", 11)))
    back = load_file(str(lstm_file(tmp_path / "bwd.safetensors", 12)))
    tensors = {**one, **{f"{k}_reverse": v for k, v in back.items()}}  # nn.LSTM(bidirectional=True)
    save_file(tensors, str(tmp_path / "bi.safetensors"))
    with (tmp_path / "bi.safetensors").open("rb") as f:
        res = httpx.post(
            f"{base_url}/api/v1/models",
            data={"name": "two ways", "cell": "lstm"},
            files={"file": ("bi.safetensors", f)},
            timeout=30,
        )
    assert res.status_code in (200, 201), res.text
    model_id = res.json()["id"]
    models = httpx.get(f"{base_url}/api/v1/models", timeout=10).json()["models"]
    open_models(page)
    expect(page.locator(f"#models-table tr[data-id='{model_id}']")).to_be_visible()
    header = page.locator("#models-table thead th").all_inner_texts()
    column = header.index("Directions")
    for m in models:
        cell = page.locator(f"#models-table tr[data-id='{m['id']}'] td").nth(column)
        dirs = m.get("num_directions", 1)
        expect(cell).to_have_attribute("data-directions", str(dirs))
        expect(cell).to_have_text("2 ⇄ bidirectional" if dirs == 2 else "1 →")
    assert sum(m.get("num_directions", 1) == 2 for m in models) >= 1
    # Its explorer link opens both chains.
    page.locator(f"#models-table tr[data-id='{model_id}'] a.open-explorer").click()
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=20_000)
    expect(page.locator("#lstm-chain-backward")).to_be_visible()
