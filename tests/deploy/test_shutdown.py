"""SIGTERM (docker stop): requests in flight finish; an upload cut off leaves no model.

A raw socket sends a request's headers and half its body, so the request is provably in
flight when the signal arrives.
"""

import io
import json
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from safetensors.numpy import save

pytestmark = pytest.mark.slow

BOUNDARY = "gatescope-shutdown-test"


def _start_request(url: str, path: str, headers: dict[str, str], body: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode() + body[: len(body) // 2])
    return sock


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _multipart(weights: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="cell"\r\n\r\nlstm\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="layout"\r\n\r\ntorch\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="m.safetensors"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n",
    ]
    return "".join(parts).encode() + weights + f"\r\n--{BOUNDARY}--\r\n".encode()


def _weights() -> bytes:
    rng = np.random.default_rng(5)
    return save(
        {
            "weight_ih_l0": rng.normal(size=(64, 8)).astype(np.float32),
            "weight_hh_l0": rng.normal(size=(64, 16)).astype(np.float32),
        }
    )


def test_request_in_flight_at_sigterm_is_answered_before_exit(launch: Any) -> None:
    served = launch({"GATESCOPE_SHUTDOWN_TIMEOUT_S": "20"})
    body = json.dumps(
        {
            "model": {"cell": "gru", "input_size": 2, "hidden_size": 4, "seed": 1},
            "inputs": [[0.1 * t, 0.2] for t in range(50)],
        }
    ).encode()
    sock = _start_request(served.url, "/api/v1/trace", {"Content-Type": "application/json"}, body)
    time.sleep(0.5)  # the server has read the headers and waits for the rest
    served.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert served.proc.poll() is None  # still running: it waits for us
    sock.sendall(body[len(body) // 2 :])
    status, answer = _read_response(sock)
    assert status == 200
    assert len(json.loads(answer)["layers"][0]["h"]) == 50  # the whole trace
    assert served.terminate()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{served.url}/healthz", timeout=1)


def test_upload_cut_off_by_shutdown_stores_nothing(launch: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    served = launch({"GATESCOPE_SHUTDOWN_TIMEOUT_S": "1"}, data_dir=data)
    body = _multipart(_weights())
    sock = _start_request(
        served.url,
        "/api/v1/models",
        {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        body,
    )
    time.sleep(0.5)
    start = time.monotonic()
    assert served.terminate()  # the upload never completes; the server gives up on it
    assert time.monotonic() - start < 10
    sock.close()
    leftovers = [p for p in data.rglob("*") if p.is_file()]
    assert leftovers == [], leftovers

    again = launch({}, data_dir=data)
    models = httpx.get(f"{again.url}/api/v1/models").json()
    assert not [m for m in models["models"] if m.get("source") == "upload"], models
    # and the same upload, sent whole, is stored: the cut-off one failed only for the cut
    res = httpx.post(
        f"{again.url}/api/v1/models",
        files={"file": ("m.safetensors", io.BytesIO(_weights()))},
        data={"cell": "lstm", "layout": "torch"},
    )
    assert res.status_code == 201, res.text
