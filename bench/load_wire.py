"""What the load generator sends: request bodies, and a small HTTP/1.1 client on asyncio
streams (keep-alive, no client library, so the generator costs little of the shared cores);
and how long a browser's cache may keep an answer (the classroom's students)."""

import asyncio
import json
import random

import numpy as np
import safetensors.numpy

HOST = "127.0.0.1"  # loopback only, always


def trace_body(steps: int, d: int, h: int, seed: int) -> bytes:
    rng = random.Random(seed)
    inputs = [[round(rng.uniform(-1, 1), 3) for _ in range(d)] for _ in range(steps)]
    model = {"cell": "lstm", "input_size": d, "hidden_size": h, "seed": seed % 7}
    return json.dumps({"model": model, "inputs": inputs, "dtype": "float32"}).encode()


def safetensors_bytes(d: int, h: int, seed: int) -> bytes:
    """A small LSTM state_dict (PyTorch names) as a safetensors file."""
    rng = np.random.default_rng(seed)
    shapes = {
        "weight_ih_l0": (4 * h, d),
        "weight_hh_l0": (4 * h, h),
        "bias_ih_l0": (4 * h,),
        "bias_hh_l0": (4 * h,),
    }
    tensors = {k: rng.uniform(-0.5, 0.5, shape).astype(np.float32) for k, shape in shapes.items()}
    return safetensors.numpy.save(tensors)


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = f"gatescope{random.getrandbits(64):016x}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Http:
    """One keep-alive HTTP/1.1 connection; enough of the protocol for uvicorn's answers."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", ctype: str = "application/json"
    ) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += f"Content-Type: {ctype}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        data = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def fresh_for(cache_control: str) -> float:
    """Seconds a cache may use an answer without asking again: its max-age, unless no-cache
    or no-store say to revalidate (RFC 9111 section 5.2.2)."""
    directives = {d.strip().split("=", 1)[0].lower(): d for d in cache_control.split(",")}
    if "no-cache" in directives or "no-store" in directives or "max-age" not in directives:
        return 0.0
    try:
        return max(0.0, float(directives["max-age"].split("=", 1)[1].strip()))
    except (IndexError, ValueError):
        return 0.0


def sine(steps: int, width: int, seed: int) -> list[list[float]]:
    import math

    return [[round(math.sin(0.3 * t + k + seed), 4) for k in range(width)] for t in range(steps)]
