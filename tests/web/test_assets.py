"""Static files under a content version (app/web/assets.py): the pages link versioned
addresses a browser caches for good, and the version follows the files' bytes."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.paths import STATIC_DIR
from app.web.assets import IMMUTABLE, asset_version

LINK = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")
IMPORT = re.compile(r"""\bfrom\s*["'](\.[^"']+\.js)["']""")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def test_the_version_is_a_hash_of_every_file_path_and_byte(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("export const a = 1;\n")
    first = asset_version(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert asset_version(tmp_path) == first
    (tmp_path / "js" / "a.js").write_text("export const a = 2;\n")
    changed = asset_version(tmp_path)
    assert changed != first
    (tmp_path / "js" / "a.js").rename(tmp_path / "js" / "b.js")  # same bytes, new name
    assert asset_version(tmp_path) not in (first, changed)


@pytest.mark.parametrize("page", ["/", "/learn", "/compare", "/models", "/train", "/docs"])
def test_every_page_links_its_static_files_under_the_current_version(
    client: TestClient, page: str
) -> None:
    version = client.app.state.asset_version  # type: ignore[attr-defined]
    assert version == asset_version(STATIC_DIR)
    links = LINK.findall(client.get(page).text)
    assert links, page
    for link in links:
        assert link.startswith(f"/static/{version}/"), link
        res = client.get(link)
        assert res.status_code == 200, link
        assert res.headers["cache-control"] == IMMUTABLE


def test_a_versioned_module_imports_resolve_under_the_same_version(client: TestClient) -> None:
    version = client.app.state.asset_version  # type: ignore[attr-defined]
    main = client.get(f"/static/{version}/js/main.js")
    imports = IMPORT.findall(main.text)
    assert "./api.js" in imports
    for ref in imports:
        res = client.get(f"/static/{version}/js/{ref[2:]}")
        assert res.status_code == 200, ref
        assert res.headers["cache-control"] == IMMUTABLE
        assert res.content == (STATIC_DIR / "js" / ref[2:]).read_bytes()


def test_a_revalidated_versioned_file_keeps_its_immutable_lifetime(client: TestClient) -> None:
    url = f"/static/{client.app.state.asset_version}/css/app.css"  # type: ignore[attr-defined]
    etag = client.get(url).headers["etag"]
    res = client.get(url, headers={"If-None-Match": etag})
    assert res.status_code == 304
    assert res.headers["cache-control"] == IMMUTABLE


@pytest.mark.parametrize("prefix", ["", "000000000000/"])
def test_an_unversioned_or_stale_address_is_served_but_revalidated(
    client: TestClient, prefix: str
) -> None:
    # a link from before versioning, or a page loaded before a deploy: today's file, no-cache
    res = client.get(f"/static/{prefix}js/api.js")
    assert res.status_code == 200
    assert res.headers["cache-control"] == "no-cache"
    assert res.content == (STATIC_DIR / "js" / "api.js").read_bytes()


@pytest.mark.parametrize("path", ["nope.js", "../app/main.py", "js/../../pyproject.toml"])
def test_a_versioned_address_outside_static_is_a_404(client: TestClient, path: str) -> None:
    res = client.get(f"/static/{client.app.state.asset_version}/{path}")  # type: ignore[attr-defined]
    assert res.status_code == 404
    assert "cache-control" not in res.headers
