"""The live run's "Open in explorer" and "Save": the weights stored are the run's, traced as
the trainer computes; session copies go with the connection; limits answer clearly."""

import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from app.config import Settings
from app.engine import run_trace
from app.main import create_app
from app.training.config import TrainConfig
from app.training.live_run import LiveRun
from app.training.units import find_units
from tests.api.test_train_ws import SMALL, send, start, until


def make(tmp_path: Path, **limits: Any) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", **limits)))


def trained(ws: Any) -> None:
    start(ws, SMALL)
    send(ws, {"type": "play"})
    until(ws, "finished")


def test_session_export_traces_the_runs_weights_and_goes_with_the_connection(
    tmp_path: Path,
) -> None:
    client = make(tmp_path)
    with client.websocket_connect("/api/v1/train") as ws:
        trained(ws)
        send(ws, {"type": "export", "run": 0, "keep": "session"})
        done = ws.receive_json()
        assert done["type"] == "exported" and done["keep"] == "session"
        assert "delete_token" not in done
        model_id = done["model_id"]
        info = client.get(f"/api/v1/models/{model_id}").json()
        assert (info["cell"], info["hidden_size"], info["task"]) == ("lstm", 4, "delayed-recall")
        assert info["training"]["step"] == 12
        assert [p[0] for p in info["training"]["curve"]] == [0, 4, 8, 12]
        assert info["training"]["settings"]["seed"] == 0
        text = " ".join(info["example"].split())
        trace = client.post("/api/v1/trace", json={"model": {"id": model_id}, "text": text})
        assert trace.status_code == 200, trace.text
        body = trace.json()
        config = TrainConfig(task="delayed-recall", cell="lstm", hidden=4, steps=12, lr=0.02,
                             max_gap=5, seed=0)  # fmt: skip
        run = LiveRun(config)
        run.step(12)
        model = run.trainer.model
        words = body["tokens"]
        x = np.eye(model.input_size)[[info["vocab"].index(w) for w in words]][:, None, :]
        want = run_trace(model.cell, model.params, x).layers[0]
        np.testing.assert_allclose(body["layers"][0]["f"], want["f"][:, 0, :], atol=1e-12)
        np.testing.assert_allclose(body["layers"][0]["c"], want["c"][:, 0, :], atol=1e-12)
        # the units worth looking at, as a built-in model's record names them
        notes = find_units(run.trainer.task, model, config.seed)
        assert info["units"] == [note.to_dict() for note in notes]
        assert [u["kind"] for u in info["units"]] == ["fading"]  # 12 updates learn no memory
    # the server lets the session's models go just after the socket closes
    deadline = time.monotonic() + 5
    while client.get(f"/api/v1/models/{model_id}").status_code != 404:
        assert time.monotonic() < deadline, "the session model outlived its connection"
        time.sleep(0.02)


def test_saved_export_outlives_the_connection_with_its_delete_token(tmp_path: Path) -> None:
    client = make(tmp_path)
    with client.websocket_connect("/api/v1/train") as ws:
        trained(ws)
        send(ws, {"type": "export", "run": 0, "keep": "saved", "name": "my recall"})
        done = ws.receive_json()
    assert done["type"] == "exported" and done["name"] == "my recall"
    model_id, token = done["model_id"], done["delete_token"]
    assert client.get(f"/api/v1/models/{model_id}").json()["training"]["keep"] == "saved"
    gone = client.delete(f"/api/v1/models/{model_id}", headers={"X-Delete-Token": token})
    assert gone.status_code == 204


def test_export_while_playing_or_of_a_missing_run_is_refused(tmp_path: Path) -> None:
    client = make(tmp_path)
    with client.websocket_connect("/api/v1/train") as ws:
        start(ws, SMALL)
        send(ws, {"type": "export", "run": 3})
        bad = ws.receive_json()
        assert bad["type"] == "error" and bad["field"] == "run"
        assert "runs 0 to 0" in bad["message"]
        send(ws, {"type": "export", "name": "x" * 101})
        long = ws.receive_json()
        assert long["field"] == "name" and "the limit is 100 (max_name_length)" in long["message"]
        send(ws, {"type": "export", "rn": 0})
        typo = ws.receive_json()
        assert typo["type"] == "error" and typo["field"] == "rn"


def test_session_models_past_their_limit_are_refused(tmp_path: Path) -> None:
    client = make(tmp_path, train_session_models=1)
    with client.websocket_connect("/api/v1/train") as ws:
        start(ws, SMALL)
        send(ws, {"type": "export"})
        assert ws.receive_json()["type"] == "exported"
        send(ws, {"type": "step"})
        ws.receive_json()
        send(ws, {"type": "export"})
        refused = ws.receive_json()
    assert refused["type"] == "error" and refused["field"] == "keep"
    assert "the limit is 1 (train_session_models)" in refused["message"]


def test_save_after_open_in_explorer_keeps_the_model_under_its_new_name(tmp_path: Path) -> None:
    client = make(tmp_path)
    with client.websocket_connect("/api/v1/train") as ws:
        trained(ws)
        send(ws, {"type": "export", "keep": "session"})
        opened = ws.receive_json()
        send(ws, {"type": "export", "keep": "saved", "name": "kept"})
        saved = ws.receive_json()
    assert saved["model_id"] == opened["model_id"] and saved["name"] == "kept"
    time.sleep(0.5)  # past the connection's cleanup
    info = client.get(f"/api/v1/models/{saved['model_id']}").json()
    assert info["name"] == "kept" and info["training"]["keep"] == "saved"
    gone = client.delete(f"/api/v1/models/{saved['model_id']}",
                         headers={"X-Delete-Token": saved["delete_token"]})  # fmt: skip
    assert gone.status_code == 204
