"""The explorer's trace wire in real Chromium: float32 safetensors read into typed arrays,
304s for a trace asked for again, and the CSV of a bidirectional trace."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, Response
from safetensors.numpy import load

from tests.e2e.helpers import api_trace, open_explorer, page_inputs, random_lstm

pytestmark = pytest.mark.e2e


def test_explorer_fetches_the_trace_as_float32_safetensors(page: Page, base_url: str) -> None:
    answers: list[Response] = []
    page.on("response", lambda r: answers.append(r) if r.url.endswith("/api/v1/trace") else None)
    open_explorer(page, "?hidden=3&steps=6&seed=2")
    first = answers[0]
    sent = json.loads(first.request.post_data or "{}")
    assert (sent["format"], sent["dtype"]) == ("safetensors", "float32")
    assert first.headers["content-type"] == "application/octet-stream"
    assert first.headers["etag"].startswith('"')
    rows = page.evaluate(
        "[window.gatescope.app.trace.layers[0].f[0].constructor.name,"
        " Array.from(window.gatescope.app.trace.layers[0].f[5])]"
    )
    api = api_trace(base_url, {"model": random_lstm(3, seed=2), "inputs": page_inputs(page)})
    assert rows == ["Float32Array", api["layers"][0]["f"][5]]


def test_a_trace_asked_for_again_is_a_304_and_the_same_numbers(page: Page) -> None:
    open_explorer(page, "?hidden=3&steps=6")
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/api/v1/trace" in r.url else None)
    same: Any = page.evaluate(
        """async () => {
          const { fetchTrace } = await import("./static/js/api.js");
          const model = { cell: "gru", input_size: 1, hidden_size: 2, seed: 9 };
          const input = { inputs: [[0.5], [-0.25], [1.0]] };
          const a = await fetchTrace(model, input);
          const b = await fetchTrace(model, input);
          return [a === b, Array.from(b.layers[0].h[2])];
        }"""
    )
    assert statuses == [200, 304]
    assert same[0] is True and len(same[1]) == 2


def test_csv_of_a_bidirectional_trace_has_a_direction_column(
    page: Page, base_url: str, tmp_path: Path
) -> None:
    open_explorer(page, "?hidden=2&layers=1&bi=1&steps=3&seed=4")
    page.click("text=Share and export")
    with page.expect_download() as info:
        page.click("#download-csv")
    path = tmp_path / "t.csv"
    info.value.save_as(path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:5] == ["layer", "direction", "step", "token", "unit"]
    assert "backward" not in header and len(lines) == 1 + 2 * 3 * 2
    model = {**random_lstm(2, seed=4), "bidirectional": True}
    api = api_trace(base_url, {"model": model, "inputs": page_inputs(page)})
    back = [dict(zip(header, line.split(","), strict=True)) for line in lines[7:]]
    assert [r["direction"] for r in back] == ["backward"] * 6
    assert np.float32(back[3]["h"]) == np.float32(api["layers"][0]["backward"]["h"][1][1])


def test_a_long_sequence_is_sent_as_a_safetensors_body(page: Page, base_url: str) -> None:
    requests: list[Any] = []
    page.on("request", lambda r: requests.append(r) if r.url.endswith("/api/v1/trace") else None)
    open_explorer(page, "?hidden=3&d=3&steps=800&seed=6&t=700")  # 2,400 numbers
    sent = requests[0]
    assert sent.headers["content-type"] == "application/vnd.safetensors"
    blob = sent.post_data_buffer or b""
    tensors = load(blob)
    assert tensors["inputs"].dtype == np.float32 and tensors["inputs"].shape == (800, 3)
    inputs = page_inputs(page)
    np.testing.assert_array_equal(tensors["inputs"], np.asarray(inputs, dtype=np.float32))
    api = api_trace(base_url, {"model": random_lstm(3, seed=6, input_size=3), "inputs": inputs})
    shown = page.evaluate("Array.from(window.gatescope.app.trace.layers[0].c[700])")
    assert shown == api["layers"][0]["c"][700]
