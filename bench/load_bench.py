"""Load: a classroom of 50 clients against 2 uvicorn workers on loopback, bounded in time.

Starts `gatescope serve --workers 2` on 127.0.0.1 as the Docker image does (a free port, a
fresh data folder, the image's rate limit on, shared by the workers), then runs for
LOAD_SECONDS (default 60) a mix of clients, each a loop of request and think time:

- small traces (T, D, H) = (64, 16, 32), float32;
- large traces (1000, 64, 128), float32 (about 12 MB of JSON each);
- model listing (GET /api/v1/models) and model uploads (POST /api/v1/models, a small
  .safetensors file), when this build has them;
- WebSocket stepping (/api/v1/step), when this build has it;
- /healthz probes, whose latency is reported while the large traces run.

The clients speak HTTP/1.1 over raw asyncio streams (keep-alive, no client library), so the
load generator costs little of the 2 cores it shares with the server. Every answer other than
2xx and a deliberate 429 counts as an error; a transport error too. Peak RSS is the largest
sum of the server's processes' resident memory, sampled every 0.25 s.
Writes its section of bench/RESULTS.md.
"""

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.load_wire import HOST, Http, multipart, safetensors_bytes, trace_body
from bench.results import cpu_name, free_port, stop, write_section

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- load_bench:start -->", "<!-- load_bench:end -->"

SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
CLIENTS = {  # kind: (clients, mean think seconds between requests): 50 in all
    "small": (28, 0.25),
    "large": (2, 1.0),
    "list": (6, 0.5),
    "upload": (2, 2.0),
    "step": (10, 0.1),
    "healthz": (2, 0.05),
}
SMALL = (64, 16, 32)
LARGE = (1000, 64, 128)
DEBUG = os.environ.get("LOAD_DEBUG") == "1"
# Request bodies, made once before the clock starts: a few of each, re-sent (uploads of the
# same bytes give the same id, so the store does not grow).
BODIES: dict[str, list[bytes]] = {}
LOADAVG: list[float] = []  # 1-minute load average before and after the run
ENV = {
    "GATESCOPE_RATE_LIMIT_ENABLED": "true",
    # One address (loopback) stands for the whole classroom here: traces get a wide bucket;
    # uploads a narrow one, so the deliberate 429 path is exercised too.
    "GATESCOPE_RATE_LIMIT_TRACE_PER_S": "5000",
    "GATESCOPE_RATE_LIMIT_TRACE_BURST": "5000",
    "GATESCOPE_RATE_LIMIT_UPLOAD_PER_S": "1",
    "GATESCOPE_RATE_LIMIT_UPLOAD_BURST": "3",
}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    healthz_during_large: list[float] = field(default_factory=list)
    ok: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    limited: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    large_running: int = 0


async def http_client(kind: str, port: int, tally: Tally, stop: float, seed: int) -> None:
    think = CLIENTS[kind][1]
    rng = random.Random(seed)
    conn = Http(port)
    small, large, uploads = BODIES["small"], BODIES["large"][0], BODIES["upload"]
    await asyncio.sleep(rng.uniform(0, think))  # clients do not start in lockstep
    while time.monotonic() < stop:
        if kind == "small":
            req = ("POST", "/api/v1/trace", rng.choice(small), "application/json")
        elif kind == "large":
            req = ("POST", "/api/v1/trace", large, "application/json")
        elif kind == "list":
            req = ("GET", "/api/v1/models", b"", "")
        elif kind == "upload":
            fields = {"cell": "lstm", "layout": "torch", "name": f"bench {seed}"}
            body, ctype = multipart(fields, "m.safetensors", rng.choice(uploads))
            req = ("POST", "/api/v1/models", body, ctype)
        else:
            req = ("GET", "/healthz", b"", "")
        t0 = time.perf_counter()
        if kind == "large":
            tally.large_running += 1
        try:
            status, data = await asyncio.wait_for(conn.request(*req), timeout=30)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            tally.errors.append(f"{kind}: {type(exc).__name__} {exc}")
            await conn.close()
            continue
        finally:
            if kind == "large":
                tally.large_running -= 1
        ms = (time.perf_counter() - t0) * 1000
        if DEBUG and ms > 200:
            print(f"slow {kind} {ms:.0f} ms at {time.monotonic() - stop + SECONDS:.1f} s")
        if 200 <= status < 300:
            tally.ok[kind] += 1
            tally.latencies[kind].append(ms)
            if kind == "healthz" and tally.large_running > 0:
                tally.healthz_during_large.append(ms)
        elif status == 429:
            tally.limited[kind] += 1
        else:
            tally.errors.append(f"{kind}: HTTP {status} {data[:200]!r}")
        await asyncio.sleep(think * rng.uniform(0.5, 1.5))
    await conn.close()


async def step_client(port: int, tally: Tally, stop: float, seed: int) -> None:
    from websockets.asyncio.client import connect

    rng = random.Random(seed)
    think = CLIENTS["step"][1]
    model = {"cell": "lstm", "input_size": 4, "hidden_size": 16, "seed": seed % 5}
    while time.monotonic() < stop:
        try:
            async with connect(f"ws://{HOST}:{port}/api/v1/step", open_timeout=10) as ws:
                await ws.send(json.dumps({"type": "open", "model": model}))
                opened = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                if opened.get("type") != "ready":
                    tally.errors.append(f"step open: {str(opened)[:200]}")
                    return
                for _ in range(rng.randint(20, 60)):
                    if time.monotonic() >= stop:
                        break
                    t0 = time.perf_counter()
                    x = [round(rng.uniform(-1, 1), 3) for _ in range(4)]
                    await ws.send(json.dumps({"type": "step", "input": x}))
                    reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                    if reply.get("type") != "step":
                        tally.errors.append(f"step: {str(reply)[:200]}")
                    else:
                        tally.ok["step"] += 1
                        tally.latencies["step"].append((time.perf_counter() - t0) * 1000)
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))
        except Exception as exc:  # a refused handshake (429 closes with 1013) counts apart
            if "1013" in str(exc):
                tally.limited["step"] += 1
            else:
                tally.errors.append(f"step: {type(exc).__name__} {exc}")
            await asyncio.sleep(think)


def process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = [root], [root]
    while frontier:
        kids = [p for p, pp in parents.items() if pp in frontier]
        tree += kids
        frontier = kids
    return tree


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


async def sample_rss(root: int, stop: float, peaks: list[float]) -> None:
    while time.monotonic() < stop:
        peaks.append(rss_mb(process_tree(root)))
        await asyncio.sleep(0.25)


async def has_step(port: int) -> bool:
    from websockets.asyncio.client import connect

    try:
        async with connect(f"ws://{HOST}:{port}/api/v1/step", open_timeout=5):
            return True
    except Exception:
        return False


async def run_load(
    port: int, root: int, routes: set[str]
) -> tuple[Tally, list[float], dict[str, int]]:
    tally, peaks = Tally(), [rss_mb(process_tree(root))]
    stop = time.monotonic() + SECONDS
    counts = {k: n for k, (n, _) in CLIENTS.items()}
    if "GET /api/v1/models" not in routes:
        counts["list"] = 0
    if "POST /api/v1/models" not in routes:
        counts["upload"] = 0
    if not await has_step(port):
        counts["step"] = 0
    tasks = [sample_rss(root, stop, peaks)]
    seed = 0
    for kind, n in counts.items():
        for _ in range(n):
            seed += 1
            if kind == "step":
                tasks.append(step_client(port, tally, stop, seed))
            else:
                tasks.append(http_client(kind, port, tally, stop, seed))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=SECONDS + 60)
    return tally, peaks, counts


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_server(port: int, data: Path) -> subprocess.Popen[bytes]:
    # `gatescope serve`, as the Docker image runs it: its workers share one rate-limit store
    env = {**os.environ, "GATESCOPE_DATA_DIR": str(data), "GATESCOPE_LOG_LEVEL": "warning", **ENV}
    cmd = [sys.executable, "-m", "app.cli", "serve", "--host", HOST, "--port", str(port)]
    cmd += ["--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    time.sleep(1.0)  # let the second worker finish importing too
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gatescope serve did not answer /healthz within 60 s")


def openapi_routes(port: int) -> set[str]:
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    spec = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    return {f"{m.upper()} {path}" for path, ops in spec["paths"].items() for m in ops}


def main() -> None:
    BODIES["small"] = [trace_body(*SMALL, seed=k) for k in range(8)]
    BODIES["large"] = [trace_body(*LARGE, seed=1)]
    BODIES["upload"] = [safetensors_bytes(8, 16, k) for k in range(3)]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="gatescope-load-") as tmp:
        proc = start_server(port, Path(tmp) / "data")
        try:
            routes = openapi_routes(port)
            started = time.time()
            load_before = os.getloadavg()[0]
            tally, peaks, counts = asyncio.run(run_load(port, proc.pid, routes))
            LOADAVG.extend([load_before, os.getloadavg()[0]])
        finally:
            stop(proc)
    report(tally, peaks, counts, started)


def report(tally: Tally, peaks: list[float], counts: dict[str, int], started: float) -> None:
    total_ok = sum(tally.ok.values())
    lines = [
        "| traffic | clients | ok | 429 | req/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, n in counts.items():
        lat = tally.latencies[kind]
        lines.append(
            f"| {kind} | {n} | {tally.ok[kind]} | {tally.limited[kind]} | "
            f"{tally.ok[kind] / SECONDS:.1f} | {p(lat, 0.5):.1f} | {p(lat, 0.99):.1f} |"
        )
    small_p99 = p(tally.latencies["small"], 0.99)
    health_p99 = p(tally.healthz_during_large, 0.99)
    peak = max(peaks)
    skipped = [k for k, n in counts.items() if n == 0]
    checks = [
        f"- errors other than deliberate 429s: {len(tally.errors)} (target 0): "
        + ("met" if not tally.errors else "NOT met"),
        f"- p99 of small traces {SMALL}: {small_p99:.1f} ms (target <= 100): "
        + ("met" if small_p99 <= 100 else "NOT met"),
        f"- /healthz p99 while large traces run ({len(tally.healthz_during_large)} probes): "
        f"{health_p99:.1f} ms (target <= 50): " + ("met" if health_p99 <= 50 else "NOT met"),
        f"- peak RSS of the server (master + 2 workers): {peak:.0f} MB",
    ]
    if skipped:
        checks.append(f"- not in this build, so not in the mix: {', '.join(skipped)}")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    section = [
        START,
        "## Load: 50 clients, 2 workers, loopback (bench/load_bench.py)",
        "",
        f"- {cpu_name()} shared by server and load generator; "
        f"1-min load average {LOADAVG[0]:.1f} before, {LOADAVG[1]:.1f} after the run "
        "(above 2 means other jobs shared the cores)",
        f"- Run: {stamp}; {SECONDS:.0f} s; {total_ok} answers; rate limit on (Docker settings, "
        "uploads narrowed so 429s occur)",
        f"- Sizes (T, D, H): small {SMALL}, large {LARGE}, float32; each client thinks "
        "0.5-1.5x its pause between requests",
        "",
        *lines,
        "",
        "Targets:",
        *checks,
        END,
    ]
    text = "\n".join(section)
    print(text)
    for err in tally.errors[:20]:
        print("error:", err)
    write_section("load_bench", text)


if __name__ == "__main__":
    main()
