"""What every benchmark shares: a free loopback port, the machine's name, and its section of
bench/RESULTS.md."""

import os
import platform
import re
import socket
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server the bench started: SIGTERM, then SIGKILL after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def cpu_name() -> str:
    """The CPU model and logical core count, e.g. "Intel(R) Xeon(R) Processor, 2 logical cores"."""
    model = platform.processor() or platform.machine() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() if found else model
    return f"{model}, {os.cpu_count()} logical cores"


def write_section(name: str, text: str) -> None:
    """Put `text` between <!-- name:start --> and <!-- name:end --> in RESULTS.md, replacing
    what stood there before (or appending the section), and leave the rest of the file alone."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = text.removeprefix(start).removesuffix(end).strip("\n")
    block = f"{start}\n{text}\n{end}"
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if start in old and end in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end) :]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(new)
    print(f"wrote {RESULTS}")
