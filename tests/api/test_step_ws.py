"""WebSocket /api/v1/step: stepping one message at a time equals the batch trace."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.config import Settings
from app.main import create_app
from tests.api.helpers import VOCAB, lstm_weights, upload, with_readout

INPUTS = [[0.5, -1.0], [0.25, 0.0], [1.0, 1.0], [-2.0, 0.5]]


def ask(ws: Any, message: dict[str, Any]) -> dict[str, Any]:
    ws.send_text(json.dumps(message))
    answer: dict[str, Any] = ws.receive_json()
    return answer


def stacked(answers: list[dict[str, Any]], layer: int, field: str) -> np.ndarray:
    return np.array([a["layers"][layer][field] for a in answers])


@pytest.mark.parametrize("cell", ["lstm", "gru", "lstm_peephole", "rnn_relu"])
def test_stepping_equals_the_batch_trace(client: TestClient, cell: str) -> None:
    model = {"cell": cell, "input_size": 2, "hidden_size": 3, "num_layers": 2, "seed": 1}
    batch = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS}).json()
    with client.websocket_connect("/api/v1/step") as ws:
        ready = ask(ws, {"type": "open", "model": model})
        assert ready["type"] == "ready" and ready["hidden_size"] == 3 and ready["step"] == 0
        answers = [ask(ws, {"type": "step", "input": x}) for x in INPUTS]
    assert [a["step"] for a in answers] == [0, 1, 2, 3]
    for layer in range(2):
        for field, values in batch["layers"][layer].items():
            np.testing.assert_allclose(stacked(answers, layer, field), values, atol=1e-14)


def test_back_and_reset_keep_the_state_on_the_connection(client: TestClient) -> None:
    model = {"cell": "lstm", "input_size": 2, "hidden_size": 3}
    batch = client.post("/api/v1/trace", json={"model": model, "inputs": INPUTS}).json()
    other = [[9.0, -9.0]]
    with client.websocket_connect("/api/v1/step") as ws:
        ask(ws, {"type": "open", "model": model})
        ask(ws, {"type": "step", "input": INPUTS[0]})
        ask(ws, {"type": "step", "input": other[0]})  # a typo...
        assert ask(ws, {"type": "back"}) == {"type": "back", "step": 1}  # ...taken back
        second = ask(ws, {"type": "step", "input": INPUTS[1]})
        np.testing.assert_allclose(second["layers"][0]["c"], batch["layers"][0]["c"][1], atol=1e-14)
        assert ask(ws, {"type": "reset"}) == {"type": "reset", "step": 0}
        first = ask(ws, {"type": "step", "input": INPUTS[0]})
        assert first["step"] == 0
        np.testing.assert_allclose(first["layers"][0]["h"], batch["layers"][0]["h"][0], atol=1e-14)
        assert ask(ws, {"type": "back"})["step"] == 0
        assert ask(ws, {"type": "back"})["step"] == 0  # nothing left to undo


def test_typing_a_text_model_equals_its_text_trace(client: TestClient) -> None:
    tensors = with_readout(lstm_weights(len(VOCAB), 4, seed=3), vocab_size=len(VOCAB))
    model_id = upload(client, tensors, vocab=json.dumps(VOCAB)).json()["id"]
    text = "ab c."
    body = {"model": {"id": model_id}, "text": text, "dtype": "float32"}
    batch = client.post("/api/v1/trace", json=body).json()
    with client.websocket_connect("/api/v1/step") as ws:
        ready = ask(ws, {"type": "open", "model": {"id": model_id}, "dtype": "float32"})
        assert ready["vocab"] == VOCAB
        answers = [ask(ws, {"type": "step", "token": ch}) for ch in text]
    assert [a["token"] for a in answers] == list(text)
    np.testing.assert_allclose(stacked(answers, 0, "i"), batch["layers"][0]["i"], atol=2e-5)
    probs = [a["readout"]["probs"] for a in answers]
    np.testing.assert_allclose(probs, batch["readout"]["probs"], atol=2e-5)


def test_initial_states_from_the_open_message(client: TestClient) -> None:
    model = {"cell": "lstm", "input_size": 2, "hidden_size": 3}
    h0, c0 = [[0.3, -0.3, 0.1]], [[1.0, 2.0, -1.0]]
    body = {"model": model, "inputs": INPUTS[:1], "h0": h0, "c0": c0}
    batch = client.post("/api/v1/trace", json=body).json()
    with client.websocket_connect("/api/v1/step") as ws:
        ask(ws, {"type": "open", "model": model, "h0": h0, "c0": c0})
        step = ask(ws, {"type": "step", "input": INPUTS[0]})
    np.testing.assert_allclose(step["layers"][0]["c"], batch["layers"][0]["c"][0], atol=1e-14)


@pytest.mark.parametrize(
    ("message", "code", "says"),
    [
        ({"type": "step", "input": [1.0, 2.0]}, "shape_mismatch", "expected 5"),
        ({"type": "step", "token": "é"}, "unknown_token", "U+00E9"),
        ({"type": "step", "token": "a", "input": [0.0] * 5}, "validation_error", "either"),
        ({"type": "jump"}, "validation_error", "type"),
        ({"type": "step", "input": [True, 0, 0, 0, 0]}, "validation_error", "input[0]"),
        ({"type": "step", "input": [0, 0, 1e13, 0, 0]}, "out_of_range", "input[2] is 1e+13"),
        ({"type": "open", "model": {"id": "nope"}}, "not_found", "nope"),
    ],
)
def test_bad_messages_answer_an_error_and_keep_the_session(
    client: TestClient, message: dict[str, Any], code: str, says: str
) -> None:
    model = {"cell": "lstm", "input_size": 5, "hidden_size": 2, "vocab": VOCAB}
    with client.websocket_connect("/api/v1/step") as ws:
        ask(ws, {"type": "open", "model": model})
        answer = ask(ws, message)
        assert answer["type"] == "error" and answer["error"] == code, answer
        assert says in answer["message"]
        still = ask(ws, {"type": "step", "token": "a"})
        assert still["type"] == "step" and still["step"] == 0


def test_stepping_before_open_and_malformed_json_are_errors(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/step") as ws:
        assert ask(ws, {"type": "step", "input": [1.0]})["error"] == "not_open"
        ws.send_text("{not json")
        assert ws.receive_json()["error"] == "validation_error"


def test_a_message_over_the_limit_closes_the_socket(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_ws_message_bytes=1024))
    with TestClient(app) as c, c.websocket_connect("/api/v1/step") as ws:
        ws.send_text(json.dumps({"type": "step", "input": [0.0] * 1000}))
        answer = ws.receive_json()
        assert answer["error"] == "limit_exceeded" and "max_ws_message_bytes" in answer["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1009


def test_the_live_sequence_is_limited_to_max_steps(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_steps=2))
    with TestClient(app) as c, c.websocket_connect("/api/v1/step") as ws:
        ask(ws, {"type": "open", "model": {"cell": "lstm", "input_size": 1, "hidden_size": 1}})
        ask(ws, {"type": "step", "input": [0.0]})
        ask(ws, {"type": "step", "input": [0.0]})
        answer = ask(ws, {"type": "step", "input": [0.0]})
        assert answer["message"] == ("the live sequence has 2 steps, the limit is 2; send reset")
        assert ask(ws, {"type": "reset"})["step"] == 0
        assert ask(ws, {"type": "step", "input": [0.0]})["step"] == 0


def test_the_message_limit_counts_bytes_not_characters(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_ws_message_bytes=1024))
    message = json.dumps({"type": "step", "token": "\u2603" * 400}, ensure_ascii=False)
    assert len(message) < 1024 < len(message.encode())  # 400 snowmen: 3 bytes each
    with TestClient(app) as c, c.websocket_connect("/api/v1/step") as ws:
        ws.send_text(message)
        answer = ws.receive_json()
        assert (
            answer["error"] == "limit_exceeded"
            and f"{len(message.encode())} bytes" in answer["message"]
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1009
