"""The classroom benchmark: a room of students behind one address against the Docker image's
settings, on loopback.

`python -m bench.classroom [--students 100] [--minutes 5] [--key client|address]` starts
`python -m app.cli serve` as the image runs it (GATESCOPE_WORKERS=2,
GATESCOPE_RATE_LIMIT_ENABLED=true, every other setting its default; a fresh data folder, a
free port on 127.0.0.1), runs the students (bench/classroom_load.py) in a process of their
own, and prints the report. It is bounded: the students stop by themselves after the given
time, the generator is killed if it overruns by two minutes, and the server's whole process
group (the master and both workers) is stopped at the end, whatever happened.

While the students run, this process samples the server's process tree every 0.25 s for its
resident memory (peak of the sum) and reads its CPU seconds before and after. The report
(a dict, also written as JSON with --json) holds p50/p99 per kind of request, refusals (429s)
per student, errors, peak RSS, CPU of the server and of the load generator, bytes per student
and the targets. bench/classroom_bench.py (`make bench`) runs it both ways and writes
bench/RESULTS.md.
"""

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.load_bench import process_tree, rss_mb
from bench.results import free_port

REPO = Path(__file__).resolve().parents[1]
IMAGE_ENV = {"GATESCOPE_WORKERS": "2", "GATESCOPE_RATE_LIMIT_ENABLED": "true"}
KINDS = ("page", "static", "models", "model", "trace", "ws_open", "ws_step", "upload", "train",
         "healthz")  # fmt: skip
TARGETS = {"trace_p99_ms": 150.0, "healthz_p99_ms": 50.0, "max_refused_share": 0.01}
TICK = os.sysconf("SC_CLK_TCK")


def start_server(data: Path, port: int, key: str, log: Path) -> subprocess.Popen[bytes]:
    # the image's settings alone; GATESCOPE_KERNEL passes (the test suite's kernel-off pass)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATESCOPE_")}
    if "GATESCOPE_KERNEL" in os.environ:
        env["GATESCOPE_KERNEL"] = os.environ["GATESCOPE_KERNEL"]
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {
        **IMAGE_ENV,
        "GATESCOPE_HOST": "127.0.0.1",
        "GATESCOPE_PORT": str(port),
        "GATESCOPE_DATA_DIR": str(data),
        "GATESCOPE_LOG_LEVEL": "warning",
        "GATESCOPE_RATE_LIMIT_KEY": key,
    }
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=REPO, env=env,
                                stdout=sink, stderr=sink, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                time.sleep(1.5)  # the second worker finishes importing too
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    stop_group(proc)
    raise RuntimeError("gatescope serve did not answer /healthz within 90 s")


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL after 20 s: no worker is left behind."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        proc.poll()  # reap the master, or the group never empties
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / TICK


class Sampler(threading.Thread):
    """Peak RSS and CPU seconds of the server's process tree while the students run."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak_mb, self.done = root, 0.0, threading.Event()
        self.cpu: dict[int, float] = {}  # the last CPU seconds seen of each process

    def sample(self) -> None:
        pids = process_tree(self.root)
        self.peak_mb = max(self.peak_mb, rss_mb(pids))
        for pid in pids:
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu_seconds([pid]))

    def run(self) -> None:
        while not self.done.wait(0.25):
            self.sample()


BUCKET = re.compile(r"^gatescope_http_request_duration_seconds_bucket\{(.*)\} (\S+)$")


def server_quantiles(metrics: str, q: float = 0.99) -> dict[str, str]:
    """From the server's own latency histograms (/metrics, every worker together): the
    bucket each route's q-quantile lies in, as the server measured it (from the request
    reaching the app to its last byte: no client, no kernel queue)."""
    counts: dict[str, dict[float, float]] = {}
    for line in metrics.splitlines():
        found = BUCKET.match(line)
        if not found:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
        route = f"{labels.get('method')} {labels.get('route')}"
        counts.setdefault(route, {})[float(labels["le"])] = float(found.group(2))
    out = {}
    for route in ("POST /api/v1/trace", "GET /healthz"):
        buckets = sorted(counts.get(route, {}).items())
        if not buckets or buckets[-1][1] == 0:
            continue
        total, low = buckets[-1][1], 0.0
        for le, n in buckets:
            if n >= q * total:
                out[route] = f"{low * 1000:g}-{le * 1000:g} ms of {int(total)}"
                break
            low = le
    return out


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (every core, every process) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def phases(raw: dict[str, Any], kind: str, seconds: float) -> dict[str, list[float]]:
    """The latencies of `kind` in the room's arrival (the first quarter of a short run, at most
    30 s, and 10 s more), in the teacher's link (30 s from half-way), and the rest ("calm")."""
    arrival = min(30.0, seconds / 4) + 10
    teacher = seconds / 2
    out: dict[str, list[float]] = {"arrival": [], "teacher": [], "calm": []}
    pairs = zip(raw["latencies"].get(kind, []), raw["when"].get(kind, []), strict=True)
    for ms, t in pairs:
        phase = "arrival" if t <= arrival else "teacher" if teacher <= t <= teacher + 30 else "calm"
        out[phase].append(ms)
    return out


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def run(students: int, seconds: float, key: str = "client", nice: int = 0) -> dict[str, Any]:
    """One run of the classroom; the report."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="gatescope-classroom-") as tmp:
        log = Path(tmp) / "server.log"
        proc = start_server(Path(tmp) / "data", port, key, log)
        try:
            sampler = Sampler(proc.pid)
            sampler.sample()
            cpu_before = sum(sampler.cpu.values())
            sampler.start()
            load_before = os.getloadavg()[0]
            busy_before = machine_busy_s()
            started = time.time()
            out = Path(tmp) / "students.json"
            cmd = [sys.executable, "-m", "bench.classroom_load", f"http://127.0.0.1:{port}"]
            cmd += ["--students", str(students), "--seconds", str(seconds), "--out", str(out)]
            gen = subprocess.Popen(
                cmd, cwd=REPO, preexec_fn=(lambda: os.nice(nice)) if nice else None
            )
            try:
                gen.wait(timeout=seconds + 150)
            except subprocess.TimeoutExpired:
                gen.kill()
                gen.wait()
            sampler.done.set()
            sampler.join()
            sampler.sample()
            server_cpu = sum(sampler.cpu.values()) - cpu_before
            machine_cpu = machine_busy_s() - busy_before
            load_after = os.getloadavg()[0]
            if gen.returncode != 0 or not out.exists():
                raise RuntimeError(f"the load generator failed ({gen.returncode})")
            raw = json.loads(out.read_text())
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        finally:
            stop_group(proc)
        server_log = log.read_text(errors="replace")
    return summarise(raw, {
        "key": key, "students": students, "seconds": seconds, "nice": nice,
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "load_before": round(load_before, 2), "load_after": round(load_after, 2),
        "server_cpu_s": round(server_cpu, 1), "machine_cpu_s": round(machine_cpu, 1),
        "peak_rss_mb": round(sampler.peak_mb),
        "tracebacks_in_log": server_log.count("Traceback"),
        "log_lines": server_log.count("\n"),
        "log_examples": server_log.splitlines()[:10],
        "server_side_p99": server_quantiles(metrics),
    })  # fmt: skip


def summarise(raw: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    lat, refused, errors = raw["latencies"], raw["refused"], raw["errors"]
    kinds = {}
    for kind in KINDS:
        values = lat.get(kind, [])
        kinds[kind] = {
            "ok": len(values),
            "refused": refused.get(kind, 0),
            "errors": errors.get(kind, 0),
            "p50_ms": quantile(values, 0.5),
            "p99_ms": quantile(values, 0.99),
        }
    for kind in ("trace", "healthz", "static"):
        for phase, values in phases(raw, kind, run["seconds"]).items():
            kinds[kind][f"{phase}_p99_ms"] = quantile(values, 0.99)
            kinds[kind][f"{phase}_ok"] = len(values)
    per = raw["students"]
    shares = [s.get("refused", 0) / max(1, s.get("limited_requests", 0)) for s in per]
    shares_all = [s.get("refused", 0) / max(1, s.get("requests", 0)) for s in per]
    over = sum(1 for x in shares if x > TARGETS["max_refused_share"])
    mb = [s.get("bytes", 0) / 1e6 for s in per]
    total_errors = sum(errors.values())
    trace_p99, health_p99 = kinds["trace"]["p99_ms"], kinds["healthz"]["p99_ms"]
    checks = {
        "no errors": total_errors == 0,
        "no student refused more than 1%": over == 0,
        "trace p99 <= 150 ms": trace_p99 is not None and trace_p99 <= TARGETS["trace_p99_ms"],
        "healthz p99 <= 50 ms": health_p99 is not None and health_p99 <= TARGETS["healthz_p99_ms"],
    }
    return {
        **run,
        "kinds": kinds,
        "errors": total_errors,
        "error_examples": raw["examples"],
        "resent": raw["resent"],
        "requests": sum(s.get("requests", 0) for s in per),
        "refused": sum(s.get("refused", 0) for s in per),
        "max_refused_share": round(max(shares, default=0.0), 4),
        "max_refused_share_of_all": round(max(shares_all, default=0.0), 4),
        "students_over_1pct": over,
        "students_with_cookie": sum(s.get("cookie", 0) for s in per),
        "static_from_cache": sum(s.get("cached", 0) for s in per),
        "students_refused_any": sum(1 for s in per if s.get("refused", 0)),
        "mb_per_student": {
            "min": round(min(mb, default=0), 2),
            "median": round(sorted(mb)[len(mb) // 2], 2) if mb else 0,
            "max": round(max(mb, default=0), 2),
        },
        "generator_cpu_s": round(raw["cpu_s"], 1),
        "other_cpu_s": round(run["machine_cpu_s"] - run["server_cpu_s"] - raw["cpu_s"], 1),
        "generator_wall_s": round(raw["wall_s"], 1),
        "checks": checks,
    }  # fmt: skip


def text_report(r: dict[str, Any]) -> str:
    lines = [
        f"{r['students']} students, {r['seconds']:.0f} s, rate_limit_key={r['key']}: "
        f"{r['requests']} requests, {r['refused']} refused, {r['errors']} errors",
        "",
        "| kind | ok | 429 | errors | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for kind, k in r["kinds"].items():
        lines.append(f"| {kind} | {k['ok']} | {k['refused']} | {k['errors']} | "
                     f"{k['p50_ms']} | {k['p99_ms']} |")  # fmt: skip
    lines += [
        f"- students refused more than 1% of their rate-limited requests: {r['students_over_1pct']}"
        f" of {r['students']} (refused any: {r['students_refused_any']}; with their own cookie: "
        f"{r['students_with_cookie']}); worst share "
        f"{r['max_refused_share']:.1%} (of all its requests: {r['max_refused_share_of_all']:.1%})",
        f"- server: peak RSS {r['peak_rss_mb']} MB (master + 2 workers), "
        f"CPU {r['server_cpu_s']} s; load generator (nice {r['nice']}) CPU "
        f"{r['generator_cpu_s']} s in {r['generator_wall_s']} s; the machine's other "
        f"processes (other jobs on the shared VM) {r['other_cpu_s']} s of the 2 cores' "
        f"{2 * r['generator_wall_s']:.0f} s",
        "- p99 outside the two rushes (the room arriving, the teacher's link): trace "
        f"{r['kinds']['trace']['calm_p99_ms']} ms ({r['kinds']['trace']['calm_ok']} answers), "
        f"healthz {r['kinds']['healthz']['calm_p99_ms']} ms",
        "- p99 in the rushes, arriving / the teacher's link: " + rushes(r["kinds"]),
        f"- static files the students' browser caches answered (no request): "
        f"{r['static_from_cache']}",
        "- p99 as the server measured it (its histogram bucket): "
        + "; ".join(f"{k}: {v}" for k, v in r["server_side_p99"].items()),
        f"- bytes served per student: median {r['mb_per_student']['median']} MB "
        f"(min {r['mb_per_student']['min']}, max {r['mb_per_student']['max']})",
        f"- requests resent after a keep-alive race (as a browser does, not errors): {r['resent']}",
        f"- 1-min load average {r['load_before']} before, {r['load_after']} after; "
        f"server log (warning level): {r['log_lines']} lines, "
        f"{r['tracebacks_in_log']} tracebacks",
        *(f"- {name}: {'met' if ok else 'MISSED'}" for name, ok in r["checks"].items()),
    ]
    return "\n".join(lines)


def rushes(kinds: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "no requests" if value is None else f"{value} ms"

    return "; ".join(
        f"{kind} {ms(kinds[kind]['arrival_p99_ms'])} / {ms(kinds[kind]['teacher_p99_ms'])}"
        for kind in ("trace", "healthz", "static")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="the classroom benchmark (bench/classroom.py)")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--key", choices=("client", "address"), default="client")
    parser.add_argument("--nice", type=int, default=0, help="niceness of the load generator")
    parser.add_argument("--json", help="write the report here too")
    args = parser.parse_args()
    report = run(args.students, args.minutes * 60, args.key, args.nice)
    print(text_report(report))
    for example in report["error_examples"][:10]:
        print("error:", example)
    for line in report["log_examples"]:
        print("server log:", line)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
