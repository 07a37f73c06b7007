"""HEAD is answered like GET without the body (app/http/head.py)."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/api/v1/models", "/api/v1/models/sine-lstm", "/", "/learn"]
)
def test_head_answers_the_get_headers_without_the_body(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert get.status_code == 200
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["x-content-type-options"] == "nosniff"  # the other middleware still ran


def test_head_of_an_unknown_model_is_404(client: TestClient) -> None:
    res = client.head("/api/v1/models/no-such-model")
    assert res.status_code == 404
    assert res.content == b""


def test_head_on_a_post_only_path_is_405_naming_post(client: TestClient) -> None:
    res = client.head("/api/v1/trace")
    assert res.status_code == 405
    assert res.headers["allow"] == "POST"


def test_a_405_allow_header_lists_head_beside_get(client: TestClient) -> None:
    res = client.post("/healthz")
    assert res.status_code == 405
    assert res.headers["allow"] == "GET, HEAD"


def test_head_of_the_weights_download_has_its_length(client: TestClient) -> None:
    get = client.get("/api/v1/models/sine-lstm/weights")
    head = client.head("/api/v1/models/sine-lstm/weights")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(get.content) > 0
