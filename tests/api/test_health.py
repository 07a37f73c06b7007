from fastapi.testclient import TestClient

from app import __version__


def test_healthz_answers_ok_with_version(client: TestClient) -> None:
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.json() == {"status": "ok", "version": __version__}


def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    res = client.get("/no/such/page")
    assert res.status_code == 404
    assert res.json()["error"] == "not_found"
