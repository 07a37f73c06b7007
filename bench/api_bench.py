"""The API end to end, on loopback, measured in one run.

    .venv/bin/python -m bench api        (or `make bench`, which runs every bench)

1. (T, D, H) = (1000, 64, 128): the POST /api/v1/trace round trip (a client on a kept-alive
   connection sends the JSON body and reads the whole answer) against the engine's own compute
   time for the same trace (run_trace in this process), float32 (display-rounded answer) and
   float64 (full precision). Rounds interleave the engine, the API and the servers of
   bench/api_servers.py: FastAPI's default encoder (a dict of lists through jsonable_encoder
   + json.dumps instead of orjson/app.api.fastjson), and two floors, the product without its
   encoding and HTTP alone.
2. Small traces (64, 16, 32), float32, under wrk (2 threads, 16 connections, bounded time)
   against 2 uvicorn workers: requests/s, p50, p99, errors. Without wrk (apt-get install wrk)
   a small Python load generator (threads, http.client) stands in, and says so.
Servers are uvicorn processes on 127.0.0.1 with one BLAS thread each; all are stopped at the
end. Writes its section of bench/RESULTS.md.
"""

import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy loads its BLAS: one thread, as the servers

import numpy as np  # noqa: E402
import safetensors.numpy  # noqa: E402

from bench.api_baselines import engine_time, torch_time  # noqa: E402
from bench.results import cpu_name, free_port, stop, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- api_bench:start -->", "<!-- api_bench:end -->"
BIG, SMALL = (1000, 64, 128), (64, 16, 32)
ROUNDS = int(os.environ.get("API_BENCH_ROUNDS", "9"))
DEFAULT_ROUNDS = int(os.environ.get("API_BENCH_DEFAULT_ROUNDS", "3"))
LOAD_SECONDS = int(os.environ.get("API_BENCH_LOAD_SECONDS", "10"))


# -- servers and clients ----------------------------------------------------------------------


@contextmanager
def server(app: str, workers: int, data_dir: Path) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "GATESCOPE_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        stop(proc)


def trace_body(T: int, D: int, H: int, dtype: str, fmt: str = "json") -> bytes:
    x = np.random.default_rng(0).uniform(-1, 1, (T, D)).round(4)
    model = {"cell": "lstm", "input_size": D, "hidden_size": H, "seed": 0}
    body = {"model": model, "inputs": x.tolist(), "dtype": dtype, "format": fmt}
    return json.dumps(body).encode()


def binary_trace_body(T: int, D: int, H: int, dtype: str) -> bytes:
    """The same request with its inputs as a safetensors tensor (app/api/binary.py)."""
    x = np.random.default_rng(0).uniform(-1, 1, (T, D)).round(4).astype(dtype)
    model = {"cell": "lstm", "input_size": D, "hidden_size": H, "seed": 0}
    options = {"model": model, "dtype": dtype, "format": "safetensors"}
    return safetensors.numpy.save({"inputs": x}, metadata={"request": json.dumps(options)})


BINARY_TYPE = "application/vnd.safetensors"


class Client:
    """One kept-alive HTTP/1.1 connection; post() returns (seconds, status, body size)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.timing: dict[str, float] = {}  # the last answer's Server-Timing, in seconds

    def post(self, body: bytes, media_type: str = "application/json") -> tuple[float, int, int]:
        t0 = time.perf_counter()
        self.conn.request("POST", "/api/v1/trace", body, {"Content-Type": media_type})
        res = self.conn.getresponse()
        data = res.read()
        took = time.perf_counter() - t0
        found = re.findall(r"(\w+);dur=([\d.]+)", res.getheader("server-timing") or "")
        self.timing = {name: float(ms) / 1e3 for name, ms in found}
        return took, res.status, len(data)


# #16: round trip / torch.nn.LSTM forward, same dtype, no Accept-Encoding (loopback).
TORCH_TARGETS = {("float64", "safetensors"): 1.5, ("float32", "safetensors"): 1.0,
                 ("float64", "json"): 4.0}  # fmt: skip


# -- 1. the big trace -------------------------------------------------------------------------
def big_trace(data_dir: Path) -> tuple[list[str], list[str], list[tuple[str, float, bool]]]:
    rows, floor_rows, checks = [], [], []
    with (
        server("app.main:create_app", 1, data_dir) as port,
        server("bench.api_servers:default_encoder_app", 1, data_dir) as plain_port,
        server("bench.api_servers:prepared_answer_app", 1, data_dir) as prepared_port,
        server("bench.api_servers:http_only_app", 1, data_dir) as bare_port,
    ):
        api, plain = Client(port), Client(plain_port)
        prepared, bare = Client(prepared_port), Client(bare_port)
        variants = [(d, f) for f in ("json", "safetensors") for d in ("float32", "float64")]
        for dtype, fmt in variants:
            json_answer = fmt == "json"  # the default-encoder server answers JSON only
            body = trace_body(*BIG, dtype, fmt)
            engine = engine_time(*BIG, dtype)
            forward = torch_time(*BIG, dtype)
            binary = binary_trace_body(*BIG, dtype) if fmt == "safetensors" else None
            # first requests build caches (random weights, tables, the floors' answers)
            for warm in (api, prepared, bare, *((plain,) if json_answer else ())):
                _, status, _ = warm.post(body)
                assert status == 200, f"warm-up answered {status}"
            times: dict[str, list[float]] = {
                "engine": [], "api": [], "plain": [], "compute": [], "encode": [],
                "prepared": [], "bare": [], "torch": [], "binary": [],
            }  # fmt: skip
            size = 0
            for k in range(ROUNDS):
                times["engine"].append(engine())
                if forward is not None:
                    times["torch"].append(forward())
                if binary is not None:
                    took, status, _ = api.post(binary, BINARY_TYPE)
                    assert status == 200
                    times["binary"].append(took)
                took, status, size = api.post(body)
                assert status == 200
                times["api"].append(took)
                times["compute"].append(api.timing["compute"])
                times["encode"].append(api.timing["encode"])
                for name, client in (("prepared", prepared), ("bare", bare)):
                    took, status, floor_size = client.post(body)
                    assert status == 200 and floor_size == size, f"{name} answered differently"
                    times[name].append(took)
                if k < DEFAULT_ROUNDS and json_answer:
                    took, status, plain_size = plain.post(body)
                    assert status == 200
                    times["plain"].append(took)
            med = {k: statistics.median(v) if v else float("nan") for k, v in times.items()}
            ratio = med["api"] / med["engine"]
            plain_ms = f"{med['plain'] * 1e3:.0f}" if json_answer else "-"
            plain_ratio = f"{med['plain'] / med['api']:.1f}" if json_answer else "-"
            plain_mb = f"{plain_size / 1e6:.1f}" if json_answer else "-"
            rows.append(
                f"| {dtype} | {fmt} | {med['engine'] * 1e3:.1f} | {med['api'] * 1e3:.1f} | "
                f"{med['compute'] * 1e3:.1f} | {med['encode'] * 1e3:.1f} | "
                f"{(med['api'] - med['compute'] - med['encode']) * 1e3:.1f} | "
                f"{ratio:.2f} | {plain_ms} | {plain_ratio} | {size / 1e6:.1f} / {plain_mb} |"
            )
            floor_rows.append(
                f"| {dtype} | {fmt} | {med['engine'] * 1e3:.1f} | {med['bare'] * 1e3:.1f} | "
                f"{med['prepared'] * 1e3:.1f} | {med['api'] * 1e3:.1f} | "
                f"{med['bare'] / med['engine']:.2f} | {med['prepared'] / med['engine']:.2f} | "
                f"{ratio:.2f} |"
            )
            if dtype == "float32":
                name = f"round trip / engine compute, float32, {fmt}"
                checks.append((name, ratio, ratio <= 2.0))
                floor = med["prepared"] / med["engine"]
                checks.append((f"floor: the same without encoding, float32, {fmt}", floor, True))
            if json_answer:
                checks.append((f"default encoder / API, {dtype}", med["plain"] / med["api"], True))
            limit = TORCH_TARGETS.get((dtype, fmt))
            if limit is not None and times["torch"]:
                torch_ms = f"{med['torch'] * 1e3:.1f} ms"
                sent = [("JSON request", med["api"])]
                if times["binary"]:
                    sent.append(("safetensors request", med["binary"]))
                for how, took in sent:
                    r = took / med["torch"]
                    aim = "also" if how == "JSON request" and binary else "vs torch"
                    name = f"{aim}: round trip ({how}, {took * 1e3:.1f} ms) / nn.LSTM forward"
                    name += f" ({torch_ms}), {dtype}, {fmt} answer, <= {limit}"
                    checks.append((name, r, r <= limit))
            print(rows[-1], floor_rows[-1], sep="\n", flush=True)
    return rows, floor_rows, checks


# -- 2. small traces under load ---------------------------------------------------------------
def wrk_load(port: int, body: bytes, seconds: int) -> dict[str, Any]:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [==[{body.decode()}]==]\n"
    )
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script),
           f"http://127.0.0.1:{port}/api/v1/trace"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    shutil.rmtree(script.parent, ignore_errors=True)

    def ms(label: str) -> float:
        found = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            raise RuntimeError(f"wrk printed no {label} latency:\n{out}")
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[found.group(2)]
        return float(found.group(1)) * scale

    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if total is None or rps is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(g) for g in sock.groups()) if sock else 0
    )
    return {"tool": "wrk -t2 -c16", "requests": int(total.group(1)), "rps": float(rps.group(1)),
            "p50": ms("50%"), "p99": ms("99%"), "errors": errors}  # fmt: skip


def python_load(port: int, body: bytes, seconds: int) -> dict[str, Any]:
    """Stand-in for wrk: 16 threads, each a kept-alive connection, for `seconds`."""
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds

    def worker() -> None:
        client = Client(port)
        while time.monotonic() < stop:
            try:
                took, status, _ = client.post(body)
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                client = Client(port)
                continue
            latencies.append(took)
            errors[0] += status != 200

    threads = [threading.Thread(target=worker) for _ in range(16)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    q = np.percentile(np.array(latencies) * 1e3, [50, 99])
    return {"tool": "Python threads x16 (wrk not installed)", "requests": len(latencies),
            "rps": len(latencies) / elapsed, "p50": float(q[0]), "p99": float(q[1]),
            "errors": errors[0]}  # fmt: skip


def small_load(data_dir: Path) -> dict[str, Any]:
    body = trace_body(*SMALL, "float32")
    with server("app.main:create_app", 2, data_dir) as port:
        client = Client(port)
        for _ in range(50):  # warm both workers' caches
            _, status, _ = client.post(body)
            assert status == 200, f"small trace answered {status}"
        client.conn.close()
        if shutil.which("wrk"):
            return wrk_load(port, body, LOAD_SECONDS)
        return python_load(port, body, LOAD_SECONDS)


# -- report -----------------------------------------------------------------------------------
def machine() -> list[str]:
    import fastapi
    import orjson
    import uvicorn

    return [
        f"- CPU: {cpu_name()}; one BLAS thread per process",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, FastAPI "
        f"{fastapi.__version__}, uvicorn {uvicorn.__version__}, orjson {orjson.__version__}",
        f"- Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; 1-minute load average at "
        f"the end {os.getloadavg()[0]:.2f} (the VM is shared: compare ratios, not times)",
    ]


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="gatescope-bench-"))
    try:
        rows, floor_rows, checks = big_trace(data_dir)
        load = small_load(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    checks.append(("small traces under load: errors", load["errors"], load["errors"] == 0))
    targets = []
    for name, value, ok in checks:
        if name.startswith("default"):
            targets.append(f"- {name}: {value:.1f}x slower (expected >= 15x)")
        elif name.startswith("floor"):
            note = "not a target: the round trip if encoding cost nothing"
            targets.append(f"- {name}: {value:.2f} ({note})")
        elif name.startswith("vs torch"):
            targets.append(f"- {name}: {value:.2f}: {'met' if ok else 'MISSED'}")
        elif name.startswith("also"):
            targets.append(f"- {name}: {value:.2f} (not a target: the JSON request's parse)")
        elif name.startswith("round trip"):
            targets.append(f"- {name}: {value:.2f} (target <= 2): {'met' if ok else 'MISSED'}")
        else:
            targets.append(f"- {name}: {value:g} (target 0): {'met' if ok else 'MISSED'}")
    T, D, H = BIG
    lines = [
        START,
        "## API end to end on loopback (bench/api_bench.py)",
        "",
        *machine(),
        "",
        f"POST /api/v1/trace at (T, D, H) = ({T}, {D}, {H}), one LSTM layer, every field, medians "
        f"of {ROUNDS} interleaved rounds ({DEFAULT_ROUNDS} for the default encoder). Round trip: "
        "a kept-alive client sends the JSON body and reads the whole answer (one uvicorn "
        "worker). Engine: run_trace for the same trace in the bench process. Default encoder: "
        "the same route returning a dict of lists through FastAPI's jsonable_encoder. Server "
        "compute and encode come from the answer's Server-Timing header; rest = request "
        "parsing and validation, thread hand-offs, HTTP on loopback and the client's read. "
        'Answer: json (the default) or safetensors (`"format": "safetensors"`: the same arrays '
        "unrounded in one binary file, which the default encoder cannot produce).",
        "",
        "| dtype | answer | engine ms | round trip ms | of which: server compute | + encode | "
        "rest | round trip / engine | default encoder ms | default / ours | "
        "answer MB (ours / default) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Floors, measured in the same rounds: the same body answered with the same bytes by a "
        "bare ASGI app that parses and computes nothing (HTTP only), and by the product with its "
        "encoding taken out (each answer encoded once, then resent: request parsing, validation, "
        "compute and HTTP as usual). A round trip cannot go below the second floor without "
        "overlapping its stages.",
        "",
        "| dtype | answer | engine ms | HTTP only ms | without encoding ms | round trip ms | "
        "HTTP only / engine | without encoding / engine | round trip / engine |",
        "|---|---|---|---|---|---|---|---|---|",
        *floor_rows,
        "",
        f"Small traces ({SMALL[0]}, {SMALL[1]}, {SMALL[2]}), float32, 2 uvicorn workers, "
        f"{LOAD_SECONDS} s of {load['tool']} on loopback:",
        "",
        "| requests | requests/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|",
        f"| {load['requests']} | {load['rps']:.0f} | {load['p50']:.1f} | {load['p99']:.1f} | "
        f"{load['errors']} |",
        "",
        "Targets:",
        *targets,
        END,
    ]
    write_section("api_bench", "\n".join(lines))
    print("\n".join(lines[lines.index("Targets:") :]))


if __name__ == "__main__":
    main()
