"""The explorer's trace on a slow link: bytes per trace and time from an input change to the
drawn frame over a 20 Mbit/s connection (Chromium's network emulation through CDP), today's
wire (float32 safetensors, static/js/trace_wire.js) against the float64 JSON the page used
to fetch (globalThis.gatescopeWire = {format: "json", dtype: "float64"}), side by side in one
run. Targets (issue 16) at (T, D, H) = (1000, 64, 128): at most a third of the bytes and on
screen at least 3x sooner than the float64 JSON of before (no compression: a second server
with GATESCOPE_GZIP_MIN_BYTES=0); today's gzip'd float64 JSON is measured too.

    .venv/bin/python -m bench wire
"""

import os
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from bench.browser_bench import seed_change_latency, start_server, wait_ready
from bench.chromium import CHROMIUM_ARGS, system_chromium
from bench.results import cpu_name, stop, write_section

START, END = "<!-- wire_bench:start -->", "<!-- wire_bench:end -->"
MBIT = 20
LINK = {"offline": False, "latency": 5, "downloadThroughput": MBIT * 1e6 / 8,
        "uploadThroughput": MBIT * 1e6 / 8}  # fmt: skip
SIZES = [(1000, 64, 128), (4096, 32, 64)]
JSON64 = {"format": "json", "dtype": "float64"}
# name -> (the page's wire, the server's gzip): "before" is the wire before issue 16, float64
# JSON with no compression (a server with GATESCOPE_GZIP_MIN_BYTES=0)
WIRES = {"binary": (None, True), "json64": (JSON64, True), "before": (JSON64, False)}
ROUNDS = 3
LAST_TRACE = """() => {
  const traces = performance.getEntriesByType("resource").filter((r) => r.name.endsWith("/trace"));
  const e = traces.at(-1);
  return e ? [e.transferSize, e.encodedBodySize, e.decodedBodySize] : null;
}"""


def new_trace(page: Page, seed: int) -> tuple[float, list[int]]:
    """Change the seed, wait for the drawn frame: (ms from the change, the trace's bytes)."""
    page.evaluate("performance.clearResourceTimings()")
    latency = seed_change_latency(page, seed, 120)
    sizes: list[int] = page.evaluate(LAST_TRACE)
    return latency, sizes


def measure(browser: Any, url: str, wire: dict[str, str] | None, size: tuple[int, ...]) -> dict:
    T, D, H = size
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    if wire is not None:  # before the page's modules run (CDP, so the page's CSP allows it)
        page.add_init_script(f"globalThis.gatescopeWire = {wire!r}".replace("'", '"'))
    page.goto(f"{url}/?hidden={H}&d={D}&steps={T}&t=10")
    wait_ready(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", LINK)
    runs = [new_trace(page, seed) for seed in range(1, ROUNDS + 1)]
    page.close()
    return {"ms": statistics.median(r[0] for r in runs), "bytes": runs[-1][1]}


def main() -> None:
    load_before = os.getloadavg()[0]
    exe = system_chromium()
    results: dict[tuple[tuple[int, ...], str], dict] = {}
    with tempfile.TemporaryDirectory() as data, sync_playwright() as p:
        if exe is None and not Path(p.chromium.executable_path).exists():
            print("wire_bench: no Chromium here; `make browser` installs one. Not run.")
            return
        proc, url = start_server(data)
        plain, plain_url = start_server(data, {"GATESCOPE_GZIP_MIN_BYTES": "0"})
        try:
            launch = {"executable_path": exe} if exe else {}
            browser = p.chromium.launch(headless=True, args=CHROMIUM_ARGS, **launch)
            version = browser.version
            for size in SIZES:
                for name, (wire, gzip) in WIRES.items():
                    where = url if gzip else plain_url
                    results[size, name] = measure(browser, where, wire, size)
                    print(size, name, results[size, name], flush=True)
            browser.close()
        finally:
            stop(proc)
            stop(plain)
    lines = [
        START,
        "## The explorer's trace over a 20 Mbit/s link (bench/wire_bench.py)",
        "",
        f"- Machine: {cpu_name()}; Chromium {version} headless; CDP network emulation "
        f"{MBIT} Mbit/s both ways, 5 ms latency; server on loopback, one worker",
        f"- Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before {load_before:.1f}",
        f"- Median of {ROUNDS} new traces (seed changed) from the change event to the drawn "
        "frame; bytes of the last: on the wire / before compression",
        "",
        "| T, D, H | float32 safetensors: ms | bytes | float64 JSON, gzip: ms | bytes "
        "| float64 JSON as before #16: ms | bytes | before / binary: time | bytes "
        "| gzip JSON / binary: time |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for size in SIZES:
        b, j, old = (results[size, n] for n in ("binary", "json64", "before"))
        speed, share = old["ms"] / b["ms"], b["bytes"][0] / old["bytes"][0]
        lines.append(
            f"| {', '.join(map(str, size))} | {b['ms']:.0f} | {b['bytes'][0]:,} | {j['ms']:.0f} | "
            f"{j['bytes'][0]:,} | {old['ms']:.0f} | {old['bytes'][0]:,} | {speed:.2f} | "
            f"{share:.3f} | {j['ms'] / b['ms']:.2f} |"
        )
        if size == (1000, 64, 128):
            checks.append(f"- on screen >= 3x sooner than the float64 JSON of before: {speed:.2f}x:"
                          f" {'met' if speed >= 3 else 'MISSED'} (against today's gzip'd JSON: "
                          f"{j['ms'] / b['ms']:.2f}x)")  # fmt: skip
            checks.append(f"- bytes <= 1/3 of the float64 JSON of before: {share:.3f}: "
                          f"{'met' if share <= 1 / 3 else 'MISSED'}")  # fmt: skip
    text = "\n".join([*lines, "", "Targets at (1000, 64, 128):", *checks, END])
    print(text)
    write_section("wire_bench", text)


if __name__ == "__main__":
    main()
