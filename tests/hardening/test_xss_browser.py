"""User text never becomes HTML: `<img src=x onerror=alert(1)>` as a model name, a vocabulary
token, typed input and a URL parameter, in real Chromium. No dialog may open, no <img src=x>
may appear in the DOM (it would mean the text was parsed as HTML, CSP or not), and the text
must be shown literally.
"""

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.conftest import LiveServer, start_server, stop_server
from tests.fuzz.seeds import lstm_tensors, safetensors_file

PAYLOAD = "<img src=x onerror=alert(1)>"
VOCAB = [*sorted(set(PAYLOAD)), "<b>"]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("xss-data"))
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def payload_model(xss_server: LiveServer) -> str:
    spec = httpx.get(f"{xss_server.url}/openapi.json").json()
    if "post" not in spec["paths"].get("/api/v1/models", {}):
        pytest.fail("POST /api/v1/models is missing from this build")
    weights = safetensors_file(lstm_tensors(d=len(VOCAB), h=4, seed=3))
    form = {"cell": "lstm", "layout": "torch", "name": PAYLOAD, "vocab": json.dumps(VOCAB)}
    r = httpx.post(
        f"{xss_server.url}/api/v1/models",
        data=form,
        files={"file": ("xss.safetensors", weights)},
        timeout=30,
    )
    assert r.status_code in (200, 201), r.text
    model_id: str = r.json()["id"]
    return model_id


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def assert_not_html(page: Page, dialogs: list[str]) -> None:
    page.wait_for_timeout(300)  # let any handler that could run, run
    assert dialogs == [], f"a script ran: alert({dialogs})"
    assert page.locator("img[src='x']").count() == 0, "user text was inserted as HTML"
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0


def test_explorer_page_sends_strict_csp(xss_server: LiveServer) -> None:
    csp = httpx.get(f"{xss_server.url}/").headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )


def test_payload_as_model_name_on_models_page(
    page: Page, xss_server: LiveServer, payload_model: str, dialogs: list[str]
) -> None:
    page.goto(f"{xss_server.url}/models")
    expect(page.get_by_text(PAYLOAD).first).to_be_attached(timeout=15_000)
    assert_not_html(page, dialogs)


def test_payload_typed_into_text_model_and_as_name_in_explorer(
    page: Page, xss_server: LiveServer, payload_model: str, dialogs: list[str]
) -> None:
    page.goto(f"{xss_server.url}/?model={payload_model}")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=20_000)
    option = page.locator("#model-select option", has_text=PAYLOAD)
    expect(option.first).to_be_attached()
    editor = page.locator("#text-input")
    expect(editor).to_be_visible()
    editor.fill(PAYLOAD)
    page.locator("#run").click()
    page.wait_for_timeout(1500)
    assert_not_html(page, dialogs)


def test_payload_in_numbers_input_and_url(
    page: Page, xss_server: LiveServer, dialogs: list[str]
) -> None:
    page.goto(f"{xss_server.url}/?model={quote(PAYLOAD)}")
    # an unknown model: the page settles on an error message (ready=error), shown as text
    expect(page.locator("body[data-ready]")).to_be_attached(timeout=20_000)
    expect(page.get_by_text(PAYLOAD).first).to_be_attached()
    assert_not_html(page, dialogs)
    page.goto(f"{xss_server.url}/")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=20_000)
    page.locator("#numbers-input").fill(PAYLOAD)
    page.locator("#run").click()
    page.wait_for_timeout(1000)
    assert_not_html(page, dialogs)


def test_no_page_of_the_site_runs_inline_script(xss_server: LiveServer) -> None:
    for path in ("/", "/models", "/learn", "/compare", "/train"):
        r = httpx.get(f"{xss_server.url}{path}")
        if r.status_code == 404:
            continue
        assert "content-security-policy" in r.headers, path
        assert " onerror=" not in r.text and " onclick=" not in r.text, path
