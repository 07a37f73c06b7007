"""Shared steps of the explorer's browser tests: wait for a trace, ask the API the same thing."""

import json
import math
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from safetensors.numpy import load

STEP_MS = 2400  # static/js/config.js: one timestep at speed 1
SLIDE_SHARE = 0.2  # the last fifth of a step is the slide to the next module


def open_explorer(page: Page, query: str = "") -> None:
    page.goto(f"/{query}")
    expect(page.locator("body[data-ready=true]")).to_be_attached()


def sine_inputs(steps: int, width: int) -> list[list[float]]:
    """The page's 'sine' generator: sin(t/(2+j)) for even j, cos(t/(2+j)) for odd j."""
    return [
        [math.sin(t / (2 + j)) if j % 2 == 0 else math.cos(t / (2 + j)) for j in range(width)]
        for t in range(steps)
    ]


def page_inputs(page: Page) -> list[list[float]]:
    """The exact input rows the page sent (JavaScript's Math.sin may differ in the last bit)."""
    rows: list[list[float]] = page.evaluate("window.gatescope.app.inputs")
    return rows


def api_trace(base_url: str, body: dict[str, Any], dtype: str = "float32") -> dict[str, Any]:
    """The trace the page gets for the same request: the float32 safetensors answer
    (static/js/trace_wire.js), in the JSON answer's shape, every number the exact double a
    Float32Array gives the page. Live stepping (a WebSocket of JSON) is float64."""
    wire = {"dtype": dtype, **body, "format": "safetensors"}
    res = httpx.post(f"{base_url}/api/v1/trace", json=wire, timeout=30)
    assert res.status_code == 200, res.text
    tensors = load(res.content)
    meta = json.loads(res.content[8 : 8 + int.from_bytes(res.content[:8], "little")].decode()).get(
        "__metadata__", {}
    )
    fields: list[str] = json.loads(meta["fields"])
    layers: list[dict[str, Any]] = []
    for k in range(int(meta["num_layers"])):
        layer: dict[str, Any] = {f: tensors[f"layers.{k}.{f}"].tolist() for f in fields}
        if f"layers.{k}.backward.{fields[0]}" in tensors:
            layer["backward"] = {f: tensors[f"layers.{k}.backward.{f}"].tolist() for f in fields}
        layers.append(layer)
    data: dict[str, Any] = {"cell": meta["cell"], "layers": layers, "steps": int(meta["steps"])}
    data |= {"h_n": tensors["h_n"].tolist(), "dtype": meta["dtype"]}
    if "num_directions" in meta:
        data["num_directions"] = int(meta["num_directions"])
    if "tokens" in meta:
        data["tokens"] = json.loads(meta["tokens"])
    if "readout.logits" in tensors:
        data["readout"] = {
            "logits": tensors["readout.logits"].tolist(),
            "probs": tensors["readout.probs"].tolist(),
        }
    return data


def random_lstm(hidden: int, seed: int = 0, input_size: int = 2) -> dict[str, Any]:
    return {"cell": "lstm", "input_size": input_size, "hidden_size": hidden, "seed": seed}


def classes(page: Page, selector: str) -> set[str]:
    value = page.locator(selector).first.get_attribute("class") or ""
    return set(value.split())


def api_has(base_url: str, path: str, request_field: str | None = None) -> bool:
    """Whether the server's OpenAPI lists the path (and, if given, a TraceRequest field)."""
    spec = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    if request_field is not None:
        props = spec.get("components", {}).get("schemas", {}).get("TraceRequest", {})
        return request_field in props.get("properties", {})
    return path in spec.get("paths", {})
