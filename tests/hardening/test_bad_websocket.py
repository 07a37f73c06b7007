"""Hostile WebSocket messages on /api/v1/step: each gets an error reply naming the problem,
the connection stays usable, and an oversized message closes it with 1009 (never a crash).
"""

import json
import time
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from app.config import Settings
from app.main import create_app
from tests.conftest import LiveServer

OPEN = {"type": "open", "model": {"cell": "lstm", "input_size": 2, "hidden_size": 3}}
STEP = {"type": "step", "input": [0.5, -0.5]}


@dataclass(frozen=True)
class BadMessage:
    name: str
    frame: str | bytes
    opened: bool = True  # sent after a good open
    says: str = ""


def raw(obj: object) -> str:
    return json.dumps(obj)


CASES = [
    BadMessage("malformed_json", '{"type": "step", "input": [1,', says=""),
    BadMessage("not_an_object", "[1, 2]"),
    BadMessage("empty_text", ""),
    BadMessage("unknown_type", raw({"type": "explode"}), says="type"),
    BadMessage("step_before_open", raw(STEP), opened=False, says="open"),
    BadMessage("input_wrong_width", raw({"type": "step", "input": [1.0]}), says="input"),
    BadMessage("input_bools", raw({"type": "step", "input": [True, False]}), says="input"),
    BadMessage("input_strings", raw({"type": "step", "input": ["1", "2"]}), says="input"),
    BadMessage("input_nan", '{"type": "step", "input": [NaN, 1]}'),
    BadMessage("input_inf", '{"type": "step", "input": [1e999, 1]}'),
    BadMessage("input_nested", raw({"type": "step", "input": [[1.0, 2.0]]}), says="input"),
    BadMessage("token_without_vocab", raw({"type": "step", "token": "<img src=x>"})),
    BadMessage("both_input_and_token", raw({"type": "step", "input": [1, 2], "token": "a"})),
    BadMessage("open_unknown_id", raw({"type": "open", "model": {"id": "nope"}}), says="nope"),
    BadMessage("open_unknown_cell", raw({"type": "open", "model": {"cell": "x"}}), says="cell"),
    BadMessage("open_huge_model", raw({**OPEN, "model": {"input_size": 10**9, "hidden_size": 3}})),
    BadMessage("open_h0_ragged", raw({**OPEN, "h0": [[0.0], [0.0, 1.0]]}), says="h0"),
    BadMessage("deep_nesting", '{"type": "step", "input": ' + "[" * 5000 + "]" * 5000 + "}"),
    BadMessage("binary_not_utf8", b"\xff\xfe\x00\x01"),
    BadMessage("lone_surrogate", '{"type": "step", "token": "\\ud800"}'),
]


def ws_url(server: LiveServer) -> str:
    return server.url.replace("http://", "ws://") + "/api/v1/step"


def ask(ws: ClientConnection, frame: str | bytes) -> dict[str, object]:
    ws.send(frame)
    reply = json.loads(ws.recv(timeout=15))
    assert isinstance(reply, dict)
    return reply


@pytest.fixture(scope="module")
def step_route(hard_server: LiveServer) -> None:
    try:
        with connect(ws_url(hard_server), open_timeout=10):
            pass
    except InvalidStatus:
        pytest.fail("WebSocket /api/v1/step is missing from this build")


@pytest.mark.usefixtures("step_route")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_step_socket_rejects_bad_message(hard_server: LiveServer, case: BadMessage) -> None:
    with connect(ws_url(hard_server), open_timeout=10, max_size=2**24) as ws:
        if case.opened:
            assert ask(ws, raw(OPEN))["type"] == "ready"
        reply = ask(ws, case.frame)
        assert reply["type"] == "error", f"{case.name}: {reply}"
        assert isinstance(reply["message"], str) and reply["message"], case.name
        if case.says:
            assert case.says.lower() in str(reply["message"]).lower(), f"{case.name}: {reply}"
        if case.opened:  # the session survives the bad message
            good = ask(ws, raw(STEP))
            assert good["type"] == "step", f"{case.name}: after it, {good}"


@pytest.mark.usefixtures("step_route")
def test_oversized_message_closes_with_1009(hard_server: LiveServer) -> None:
    with connect(ws_url(hard_server), open_timeout=10) as ws:
        ws.send(raw({"type": "step", "input": [0.0] * 200_000}))
        reply = json.loads(ws.recv(timeout=15))
        assert reply["type"] == "error" and "limit" in reply["message"]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=15)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_flooding_socket_is_slowed_not_dropped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, ws_messages_per_s=100.0, ws_messages_burst=5)
    client = TestClient(create_app(settings))
    with client.websocket_connect("/api/v1/step") as ws:
        t0 = time.monotonic()
        for _ in range(35):
            ws.send_text(raw({"type": "reset"}))  # before open: an error reply each, cheaply
            assert ws.receive_json()["type"] == "error"
        took = time.monotonic() - t0
    assert took >= (35 - 5) / 100 * 0.9, f"35 messages went through in {took:.3f} s"
