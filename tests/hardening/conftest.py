"""A real uvicorn server with small limits, shared by the hardening tests of a session."""

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer, start_server, stop_server

SMALL_BODY = 1024 * 1024  # 1 MiB: oversized bodies stay cheap to send
SMALL_UPLOAD = 2 * 1024 * 1024


@pytest.fixture(scope="session")
def hard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {
        "GATESCOPE_MAX_BODY_BYTES": str(SMALL_BODY),
        "GATESCOPE_MAX_UPLOAD_BYTES": str(SMALL_UPLOAD),
        "GATESCOPE_REQUEST_TIMEOUT_S": "20",
    }
    server = start_server(tmp_path_factory.mktemp("hard-data"), env)
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def http(hard_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hard_server.url, timeout=15.0) as client:
        yield client


def has_route(client: httpx.Client, method: str, path: str) -> bool:
    """Whether the app documents this operation (``{}`` stands for any path parameter)."""
    spec = client.get("/openapi.json").json()
    paths = {re.sub(r"\{[^}]*\}", "{}", k): v for k, v in spec.get("paths", {}).items()}
    return method.lower() in paths.get(path, {})
