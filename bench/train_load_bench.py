"""Live training beside the explorer: do small traces and /healthz stay fast while 10 runs
train? (issue #17: small-trace p99 <= 100 ms, /healthz p99 <= 50 ms, the load targets.)

Starts `gatescope serve` with the Docker image's settings (2 workers, rate limit on) on
loopback, then for each of two phases of TRAIN_LOAD_SECONDS (default 40) runs the same probes:
4 explorer clients, each its own API key, asking for a small trace ((T, D, H) = (64, 16, 32),
float32, a new random model each time) every 0.25 s on average, and a /healthz probe every
0.1 s. The first phase is quiet; in the second, 5 learners (each its own key) race the /train
page's default (an LSTM against an RNN: 2 runs each, 10 in all, the server's
GATESCOPE_TRAIN_MAX_RUNS), starting again whenever a race finishes. Reports p50/p99 of each
probe in both phases, their ratio, and the Adam updates the 10 runs made per second.
Writes its section of bench/RESULTS.md.
"""

import asyncio
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.classroom import quantile, start_server, stop_group
from bench.load_wire import trace_body
from bench.results import cpu_name, free_port, write_section
from bench.train_client import RaceTally, race

SECONDS = float(os.environ.get("TRAIN_LOAD_SECONDS", "40"))
LEARNERS = 5  # x 2 runs = 10
EXPLORERS = 4
TARGETS = {"trace": 100.0, "healthz": 50.0}
SMALL = (64, 16, 32)  # (T, D, H) of a small trace, as bench/load_bench.py


async def explorer(base: str, key: str, stop: float, out: dict[str, list[float]],
                   errors: list[str], seed: int) -> None:  # fmt: skip
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"X-Gatescope-Key": key}) as c:
        while time.monotonic() < stop:
            body = trace_body(*SMALL, seed=rng.randrange(1 << 30))
            t0 = time.perf_counter()
            try:
                res = await c.post("/api/v1/trace", content=body,
                                   headers={"Content-Type": "application/json"})  # fmt: skip
                if res.status_code == 200:
                    out["trace"].append((time.perf_counter() - t0) * 1000)
                else:
                    errors.append(f"trace HTTP {res.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"trace {type(exc).__name__}")
            await asyncio.sleep(0.25 * rng.uniform(0.5, 1.5))


async def prober(base: str, stop: float, out: dict[str, list[float]], errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                res = await c.get("/healthz")
                if res.status_code == 200:
                    out["healthz"].append((time.perf_counter() - t0) * 1000)
                else:
                    errors.append(f"healthz HTTP {res.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"healthz {type(exc).__name__}")
            await asyncio.sleep(0.1)


async def phase(base: str, training: bool) -> dict[str, Any]:
    out: dict[str, list[float]] = {"trace": [], "healthz": []}
    errors: list[str] = []
    tally = RaceTally()
    stop = time.monotonic() + SECONDS
    ws = base.replace("http://", "ws://") + "/api/v1/train"
    jobs = [explorer(base, f"explorer-{k}", stop, out, errors, k) for k in range(EXPLORERS)]
    jobs.append(prober(base, stop, out, errors))
    if training:
        jobs += [race(ws, {"X-Gatescope-Key": f"learner-{k}"}, stop, tally)
                 for k in range(LEARNERS)]  # fmt: skip
    t0 = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*jobs), timeout=SECONDS + 120)
    wall = time.monotonic() - t0
    figures = {
        f"{kind}_{name}": quantile(values, q)
        for kind, values in out.items()
        for name, q in (("p50", 0.5), ("p99", 0.99))
    }
    return {
        **figures,
        "count": {k: len(v) for k, v in out.items()},
        "errors": errors + tally.errors,
        "updates_per_s": tally.updates / wall,
        "races_finished": tally.finished,
        "refused": tally.refused,
        "ready_p50": quantile(tally.ready_ms, 0.5),
    }


async def warm_up(base: str) -> None:
    """First traces compile the kernel in each worker: not what is measured."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as c:
        for k in range(16):
            await c.post("/api/v1/trace", content=trace_body(*SMALL, seed=k),
                         headers={"Content-Type": "application/json",
                                  "X-Gatescope-Key": f"warm-{k}"})  # fmt: skip


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_server(Path(tmp) / "data", port, "client", Path(tmp) / "server.log")
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(warm_up(base))
            quiet = asyncio.run(phase(base, training=False))
            busy = asyncio.run(phase(base, training=True))
        finally:
            stop_group(proc)
    return {"quiet": quiet, "busy": busy, "started": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                  time.gmtime())}  # fmt: skip


def fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def section(r: dict[str, Any]) -> str:
    q, b = r["quiet"], r["busy"]
    rows = []
    for kind in ("trace", "healthz"):
        for name in ("p50", "p99"):
            key = f"{kind}_{name}"
            ratio = "n/a" if not q[key] or b[key] is None else f"{b[key] / q[key]:.2f}"
            rows.append(f"| {kind} {name} (ms) | {fmt(q[key])} | {fmt(b[key])} | {ratio} |")
    ok = all(b[f"{k}_p99"] is not None and b[f"{k}_p99"] <= t for k, t in TARGETS.items())
    return "\n".join([
        "## Training beside the explorer: 10 live runs (bench/train_load_bench.py)",
        "",
        f"- Machine: {cpu_name()}; run {r['started']}; the image's settings (2 workers, rate "
        f"limit on), loopback; two phases of {SECONDS:g} s with the same probes: "
        f"{EXPLORERS} explorer clients (a small trace (64, 16, 32) float32 every ~0.25 s "
        "each) and /healthz every 0.1 s; in the second, 5 learners race the /train default "
        "(LSTM vs RNN, 16 units, gap 20): 10 runs training throughout.",
        "",
        "| probe | quiet | 10 runs training | ratio |",
        "|---|---|---|---|",
        *rows,
        "",
        f"- Training: {b['updates_per_s']:.0f} Adam updates/s over the 10 runs, "
        f"{b['races_finished']} races finished, {b['refused']} refused; start to ready p50 "
        f"{fmt(b['ready_p50'])} ms.",
        f"- Probes answered: quiet {q['count']}, busy {b['count']}; errors: quiet "
        f"{len(q['errors'])}, busy {len(b['errors'])}.",
        f"- Targets while training (small trace p99 <= {TARGETS['trace']:g} ms, /healthz p99 "
        f"<= {TARGETS['healthz']:g} ms): {'met' if ok else 'NOT met'}.",
    ])  # fmt: skip


def main() -> None:
    r = run()
    text = section(r)
    print(text, flush=True)
    for e in (r["quiet"]["errors"] + r["busy"]["errors"])[:10]:
        print("error:", e)
    write_section("train_load_bench", text)


if __name__ == "__main__":
    main()
