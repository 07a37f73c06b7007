"""/docs in a real browser: Swagger UI from our own origin, under the site's strict CSP."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, Request, expect

pytestmark = pytest.mark.e2e


def test_api_docs_render_every_operation_without_leaving_the_origin(
    page: Page, console_errors: list[str], base_url: str
) -> None:
    hosts: set[str] = set()

    def on_request(request: Request) -> None:
        if not request.url.startswith("data:"):
            hosts.add(urlparse(request.url).netloc)

    page.on("request", on_request)
    page.goto("/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/trace" in paths and "/api/v1/models/{model_id}" in paths
    page.locator("#operations-trace-trace_api_v1_trace_post .opblock-summary").click()
    expect(page.get_by_text("Example Value").first).to_be_visible()
    assert hosts == {urlparse(base_url).netloc}, f"requests left the origin: {hosts}"
    assert console_errors == []
