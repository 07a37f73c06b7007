"""WebSocket /api/v1/train: snapshots equal the trainer's, reproducible; limits refuse clearly."""

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.config import Settings
from app.main import create_app
from app.training.config import TrainConfig
from app.training.live_run import LiveRun

SMALL = {"type": "start", "gap": 5, "cells": ["lstm"], "hidden": 4, "steps": 12, "every": 4,
         "lr": 0.02, "forget_bias": 1.0}  # fmt: skip


def send(ws: Any, message: dict[str, Any]) -> None:
    ws.send_text(json.dumps(message))


def until(ws: Any, kind: str) -> list[dict[str, Any]]:
    """Every message up to and including the first of this type."""
    out = []
    while True:
        msg: dict[str, Any] = ws.receive_json()
        out.append(msg)
        if msg["type"] == kind:
            return out


def start(ws: Any, message: dict[str, Any]) -> list[dict[str, Any]]:
    send(ws, message)
    ready = ws.receive_json()
    assert ready["type"] == "ready", ready
    return [ready] + [ws.receive_json() for _ in ready["runs"]]


def make(tmp_path: Path, **limits: Any) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", **limits)))


def test_played_snapshots_equal_the_trainer_offline(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/train") as ws:
        first = start(ws, SMALL)
        send(ws, {"type": "play"})
        streamed = until(ws, "finished")
    assert first[1]["step"] == 0 and first[1]["loss"] is None
    snaps = [m for m in streamed if m["type"] == "snapshot"]
    assert [s["step"] for s in snaps] == [4, 8, 12]
    config = TrainConfig(task="delayed-recall", cell="lstm", hidden=4, steps=12, lr=0.02,
                         max_gap=5, seed=0)  # fmt: skip
    run = LiveRun(config)
    for snap in snaps:
        run.step(4)
        offline = orjson.loads(orjson.dumps(run.snapshot(), option=orjson.OPT_SERIALIZE_NUMPY))
        assert {k: v for k, v in snap.items() if k not in ("type", "run")} == offline


def test_two_identical_starts_stream_identical_snapshots(client: TestClient) -> None:
    streams = []
    for _ in range(2):
        with client.websocket_connect("/api/v1/train") as ws:
            start(ws, {**SMALL, "cells": ["lstm", "gru"]})
            send(ws, {"type": "play"})
            streams.append(until(ws, "finished"))
    assert streams[0] == streams[1]
    assert {m["run"] for m in streams[0] if m["type"] == "snapshot"} == {0, 1}


def test_pause_step_and_reset(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/train") as ws:
        first = start(ws, SMALL)
        send(ws, {"type": "step"})
        one = ws.receive_json()
        assert one["type"] == "snapshot" and one["step"] == 1
        send(ws, {"type": "pause"})
        assert ws.receive_json() == {"type": "paused", "step": 1}
        send(ws, {"type": "play"})
        send(ws, {"type": "pause"})
        got = until(ws, "paused")
        steps = [m["step"] for m in got if m["type"] == "snapshot"]
        assert steps == [5, 9, 12][: len(steps)] and got[-1]["step"] == (steps or [1])[-1]
        send(ws, {"type": "reset"})
        again = [ws.receive_json(), ws.receive_json()]
        assert again[0]["type"] == "ready" and again[1] == first[1]


def test_the_eleventh_run_is_refused_with_a_message(tmp_path: Path) -> None:
    with make(tmp_path, train_max_runs=10) as client:
        sockets = [client.websocket_connect("/api/v1/train") for _ in range(6)]
        opened = [s.__enter__() for s in sockets]
        try:
            for ws in opened[:5]:
                start(ws, {**SMALL, "cells": ["lstm", "rnn_tanh"]})
            send(opened[5], {**SMALL, "cells": ["gru"]})
            refused = opened[5].receive_json()
        finally:
            for s in sockets:
                s.__exit__(None, None, None)
        assert refused["type"] == "error" and refused["code"] == "server_full"
        assert "the server is full" in refused["message"] and "10" in refused["message"]
        with client.websocket_connect("/api/v1/train") as ws:  # the slots were given back
            assert start(ws, SMALL)[0]["type"] == "ready"


def test_a_run_past_its_budget_stops_itself(tmp_path: Path) -> None:
    # gap 5: T = 5 + 4 + 2 = 11, D = 21, H = 4: 11 * 4 * 25 = 1100 per update
    with (
        make(tmp_path, train_run_budget=1100 * 8) as client,
        client.websocket_connect("/api/v1/train") as ws,
    ):
        ready = start(ws, SMALL)[0]
        assert ready["runs"][0]["update_cost"] == 1100
        send(ws, {"type": "play"})
        got = until(ws, "stopped")
        assert [m["step"] for m in got if m["type"] == "snapshot"] == [4, 8]
        assert got[-1]["reason"] == "budget" and got[-1]["step"] == 8
        assert got[-1]["spent"] == 8800


def test_a_client_past_its_budget_is_stopped(tmp_path: Path) -> None:
    with (
        make(tmp_path, train_client_budget=1100 * 6) as client,
        client.websocket_connect("/api/v1/train") as ws,
    ):
        start(ws, SMALL)
        send(ws, {"type": "play"})
        got = until(ws, "stopped")
        assert got[-1]["reason"] == "budget" and got[-1]["step"] == 4


def test_an_idle_paused_run_is_stopped(tmp_path: Path) -> None:
    with (
        make(tmp_path, train_idle_s=0.2) as client,
        client.websocket_connect("/api/v1/train") as ws,
    ):
        start(ws, SMALL)
        assert ws.receive_json() == {"type": "stopped", "reason": "idle"}
        send(ws, {"type": "step"})
        assert ws.receive_json()["code"] == "not_started"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"hidden": 65}, "hidden", "the limit is 64 (train_max_hidden)"),
        ({"gap": 51}, "gap", "the limit is 50 (train_max_gap)"),
        ({"batch": 1000}, "batch", "the limit is 128 (train_max_batch)"),
        ({"steps": 10**6}, "steps", "the limit is 5000 (train_max_steps)"),
        ({"cells": ["lstm"] * 3}, "cells", "the limit is 2 (train_runs_per_connection)"),
        ({"cells": ["rnn_relu"]}, "cells[0]", "'lstm'"),
        ({"lr": 0}, "lr", "greater than 0"),
        ({"hidden": 0}, "hidden", "greater than or equal to 1"),
        ({"task": "char-lm"}, "task", "'delayed-recall'"),
    ],
)
def test_bad_fields_name_the_field_and_limit(
    client: TestClient, change: dict[str, Any], field: str, words: str
) -> None:
    with client.websocket_connect("/api/v1/train") as ws:
        send(ws, {**SMALL, **change})
        error = ws.receive_json()
        assert error["type"] == "error" and error["field"] == field, error
        assert words in error["message"]
        send(ws, {"type": "play"})
        assert ws.receive_json()["code"] == "not_started"


def test_a_message_over_the_limit_is_named_and_closes_with_1009(tmp_path: Path) -> None:
    with make(tmp_path, max_ws_message_bytes=512).websocket_connect("/api/v1/train") as ws:
        text = json.dumps({**SMALL, "pad": "é" * 200}, ensure_ascii=False)
        assert len(text) < 512 < len(text.encode())  # bytes are counted, not characters
        ws.send_text(text)
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "limit_exceeded", error
        assert error["message"] == (
            f"the message has {len(text.encode())} bytes, the limit is 512 (max_ws_message_bytes)"
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1009


@pytest.mark.slow
def test_the_lstm_wins_the_default_race_at_gap_20(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/train") as ws:
        ready = start(ws, {"type": "start"})[0]
        assert [r["cell"] for r in ready["runs"]] == ["lstm", "rnn_tanh"]
        send(ws, {"type": "play"})
        streamed = until(ws, "finished")
    last = {m["run"]: m for m in streamed if m["type"] == "snapshot"}
    lstm, rnn = last[0]["held_out"]["accuracy"], last[1]["held_out"]["accuracy"]
    assert last[0]["step"] == last[1]["step"] == 1500
    assert lstm >= 0.95 and rnn <= lstm - 0.30, (lstm, rnn)
