"""Explorer in headless Chromium: playback frame rate, time to a new trace, bytes shipped.

Targets (issue 5): playback of H=128, T=1000 at >= 50 frames per second (requestAnimationFrame
callbacks counted in the page); a new (T, D, H) = (256, 32, 64) trace on screen <= 300 ms after
the input changes; the page's JS and CSS <= 250 KB gzipped, D3 included. Starts its own server
on a free loopback port and writes its section of bench/RESULTS.md.
"""

import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import Page

from bench.chromium import bench_chromium
from bench.results import cpu_name, free_port, stop, write_section

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- browser_bench:start -->", "<!-- browser_bench:end -->"
FPS_TARGET, LATENCY_TARGET_MS, BYTES_TARGET = 50.0, 300.0, 250 * 1024

COUNT_FRAMES = """(ms) => new Promise((done) => {
  let frames = 0;
  const t0 = performance.now();
  const t = () => window.gatescope.player.t;
  const s0 = t();
  const tick = (now) => {
    frames += 1;
    if (now - t0 < ms) requestAnimationFrame(tick);
    else done({ fps: (frames * 1000) / (now - t0), steps: t() - s0 });
  };
  requestAnimationFrame(tick);
})"""


def start_server(
    data_dir: str, env_extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "GATESCOPE_DATA_DIR": data_dir, **(env_extra or {})}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def wait_ready(page: Page) -> None:
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=60_000)


def playback(page: Page, url: str, speed: int) -> dict[str, float]:
    page.goto(f"{url}/?hidden=128&d=8&steps=1000&t=0&speed={speed}")
    wait_ready(page)
    page.click("#play")
    page.wait_for_timeout(300)
    result: dict[str, float] = page.evaluate(COUNT_FRAMES, 3000)
    page.click("#play")
    return result


def new_trace_latency(page: Page, url: str, rounds: int = 7) -> list[float]:
    page.goto(f"{url}/?hidden=64&d=32&steps=256&t=100")
    wait_ready(page)
    return [seed_change_latency(page, seed, 10) for seed in range(1, rounds + 1)]


def seed_change_latency(page: Page, seed: int, timeout_s: float) -> float:
    """Change the seed and wait for the new trace's first drawn frame: the page's measured
    ms from the change event to that frame."""
    page.evaluate("window.gatescope.latency = null")
    page.fill("#seed", str(seed))
    page.dispatch_event("#seed", "change")
    # Polled from here: the page's CSP forbids the eval a JS predicate would need.
    latency = None
    deadline = time.monotonic() + timeout_s
    while latency is None and time.monotonic() < deadline:
        page.wait_for_timeout(10)
        latency = page.evaluate("window.gatescope.latency")
    if latency is None:
        raise RuntimeError(f"the new trace was not drawn within {timeout_s:g} s")
    return float(latency)


def transfer(page: Page, url: str) -> tuple[int, int, list[tuple[str, int, int]]]:
    files: list[tuple[str, int, int]] = []

    def on_response(res) -> None:  # type: ignore[no-untyped-def]
        if res.request.resource_type in ("script", "stylesheet"):
            body = res.body()
            files.append((res.url.removeprefix(url), len(body), len(gzip.compress(body, 6))))

    page.on("response", on_response)
    page.goto(f"{url}/")
    wait_ready(page)
    page.remove_listener("response", on_response)
    return sum(f[1] for f in files), sum(f[2] for f in files), files


def main() -> None:
    load_before = os.getloadavg()[0]
    with bench_chromium("browser_bench") as browser, tempfile.TemporaryDirectory() as data:
        if browser is None:
            return
        proc, url = start_server(data)
        try:
            version = browser.version
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            play = {speed: playback(page, url, speed) for speed in (1, 16, 64)}
            latencies = new_trace_latency(page, url)
            raw, zipped, files = transfer(page, url)
        finally:
            stop(proc)

    worst_fps = min(r["fps"] for r in play.values())
    median_ms, worst_ms = statistics.median(latencies), max(latencies)
    verdict = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    lines = [
        "## Explorer in headless Chromium (bench/browser_bench.py)",
        "",
        f"- Machine: {cpu_name()}; Chromium {version} headless, 1280x720, --disable-gpu",
        f"- Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before the run "
        f"{load_before:.1f} (1 min; above ~1.5 the machine was shared and the figures suffer)",
        "",
        "| playback, H=128, T=1000 (D=8) | frames per second | timesteps shown in 3 s |",
        "|---|---|---|",
        *[f"| speed {s}x | {r['fps']:.1f} | {r['steps']:.0f} |" for s, r in play.items()],
        "",
        f"New trace (T, D, H) = (256, 32, 64) on screen after the input changed (seed edited), "
        f"{len(latencies)} rounds: median {median_ms:.0f} ms, worst {worst_ms:.0f} ms "
        "(from the change event to the first frame after the views were redrawn, "
        "including the POST /api/v1/trace round trip).",
        "",
        "| file | bytes | gzipped |",
        "|---|---|---|",
        *[f"| {name} | {b:,} | {z:,} |" for name, b, z in sorted(files)],
        f"| **total JS + CSS** | {raw:,} | **{zipped:,}** ({zipped / 1024:.0f} KB) |",
        "",
        "Targets:",
        f"- playback >= {FPS_TARGET:.0f} fps: worst {worst_fps:.1f} fps: "
        f"{verdict(worst_fps >= FPS_TARGET)}",
        f"- new trace <= {LATENCY_TARGET_MS:.0f} ms: worst {worst_ms:.0f} ms: "
        f"{verdict(worst_ms <= LATENCY_TARGET_MS)}",
        f"- JS + CSS <= 250 KB gzipped: {zipped / 1024:.0f} KB: {verdict(zipped <= BYTES_TARGET)}",
    ]
    text = "\n".join(lines)
    print(text)
    write_section("browser_bench", text)


if __name__ == "__main__":
    main()
