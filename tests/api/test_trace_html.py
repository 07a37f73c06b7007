"""POST /api/v1/trace/html: the explorer for a trace as one self-contained HTML file."""

import base64
import hashlib
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

MODEL = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "num_layers": 1, "seed": 5}
INPUTS = [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0]]


def _embedded(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="gatescope-trace">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1))


def test_the_page_holds_the_trace_endpoints_numbers_and_allows_no_connection(
    client: TestClient,
) -> None:
    body = {"model": MODEL, "inputs": INPUTS}
    res = client.post("/api/v1/trace/html", json=body)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/html")
    assert "attachment" in res.headers["content-disposition"]
    page = res.text
    trace = client.post("/api/v1/trace", json=body).json()
    embedded = _embedded(page)
    assert embedded["layers"] == trace["layers"] and embedded["h_n"] == trace["h_n"]
    assert embedded["inputs"] == INPUTS
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None and "connect-src 'none'" in csp.group(1)
    importmap = re.search(r'<script type="importmap">(.*?)</script>', page)
    assert importmap is not None
    digest = base64.b64encode(hashlib.sha256(importmap.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp.group(1)  # the one inline script the page may run
    assert 'src="/' not in page and 'href="/' not in page  # nothing to fetch from a server


def test_text_tokens_and_chinese(client: TestClient) -> None:
    model = {**MODEL, "input_size": 3, "vocab": ["a", "b", "<"]}
    res = client.post("/api/v1/trace/html?lang=zh", json={"model": model, "text": "ab<"})
    assert res.status_code == 200, res.text
    assert '<html lang="zh' in res.text
    embedded = _embedded(res.text)
    assert embedded["tokens"] == ["a", "b", "<"]  # "<" is escaped in the page, not lost
    assert "</script>" not in res.text.split('id="gatescope-trace">')[1].split("</script>")[0]


def test_limits_and_bad_fields_are_clear_4xx(client: TestClient, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", max_steps=4)
    with TestClient(create_app(settings)) as small:
        res = small.post("/api/v1/trace/html", json={"model": MODEL, "inputs": INPUTS * 2})
        assert res.status_code == 413
        assert "max_steps" in res.json()["message"]
    res = client.post("/api/v1/trace/html?lang=fr", json={"model": MODEL, "inputs": INPUTS})
    assert res.status_code == 422 and "lang" in res.text
    res = client.post("/api/v1/trace/html", json={"model": MODEL, "inputs": [[1.0]]})
    assert res.status_code == 422 and "inputs" in res.text
    res = client.post("/api/v1/trace/html", json={"model": {"id": "nope"}, "inputs": INPUTS})
    assert res.status_code == 404
