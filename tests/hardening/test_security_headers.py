"""Every response carries the browser-security headers; pages run no inline script."""

import re

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.http.security import APP_CSP
from app.main import create_app

PATHS = ["/", "/healthz", "/static/css/app.css", "/api/v1/nowhere", "/openapi.json"]


@pytest.fixture
def client(tmp_path) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(Settings(data_dir=tmp_path / "data")))


def directives(csp: str) -> dict[str, list[str]]:
    return {p.split()[0]: p.split()[1:] for p in (d.strip() for d in csp.split(";")) if p}


@pytest.mark.parametrize("path", PATHS)
def test_every_response_has_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    csp = directives(r.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]


def test_error_responses_keep_the_headers(client: TestClient) -> None:
    r = client.post(
        "/api/v1/trace", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500
    assert r.headers["content-security-policy"] == APP_CSP


def test_app_policy_allows_no_inline_or_eval_script() -> None:
    csp = directives(APP_CSP)
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["default-src"] == ["'self'"]


def test_docs_page_has_the_app_policy_and_no_cdn(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == APP_CSP
    assert "cdn." not in r.text and "https://" not in r.text
    assert 'data-openapi-url="/openapi.json"' in r.text
    assert client.get("/redoc").status_code == 404  # the CDN-only ReDoc page is gone


def test_pages_have_no_inline_executable_script(client: TestClient) -> None:
    html = client.get("/").text
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        is_data = 'type="application/json"' in attrs
        assert "src=" in attrs or (is_data and body.strip()), f"inline script: {attrs} {body[:80]}"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler attribute in the page"
    assert "javascript:" not in html
