"""A page that leaves /train mid-answer (navigation, a closed tab) is no error: the server
logs no traceback, frees the runs and stays up. Before, a start whose `ready` met a closed
socket escaped the handler as "Exception in ASGI application"."""

import json
import socket
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.conftest import start_server, stop_server

START = {"type": "start", "gap": 20, "cells": ["lstm", "rnn_tanh"], "hidden": 16}


def leave_abruptly(url: str, then_play: bool) -> None:
    ws = connect(url, open_timeout=10)
    ws.send(json.dumps(START))
    if then_play:
        json.loads(ws.recv(timeout=15))  # ready
        ws.send(json.dumps({"type": "play"}))
    ws.socket.shutdown(socket.SHUT_RDWR)  # no closing handshake: the tab is simply gone
    ws.socket.close()


def test_leaving_mid_start_or_mid_play_logs_no_traceback(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = start_server(tmp_path / "data", log=log)
    try:
        url = server.url.replace("http://", "ws://") + "/api/v1/train"
        for k in range(12):
            leave_abruptly(url, then_play=k % 2 == 1)
        # the runs are given back: a fresh connection can start again at once
        with connect(url, open_timeout=10) as ws:
            ws.send(json.dumps(START))
            assert json.loads(ws.recv(timeout=15))["type"] == "ready"
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        time.sleep(0.5)  # the last disconnects are handled
    finally:
        stop_server(server)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert "Exception in ASGI application" not in text
