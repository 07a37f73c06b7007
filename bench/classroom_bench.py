"""`make bench`'s classroom: 100 students for 5 minutes behind one address, run twice.

First with the image's settings (fair limits: each browser its own cookie and budget), then
with GATESCOPE_RATE_LIMIT_KEY=address (the limit counted by address alone, as before #18),
which shows the unfair case the fair limits replace. CLASSROOM_MINUTES and
CLASSROOM_STUDENTS shorten it. Writes its section of bench/RESULTS.md and the two reports as
JSON next to it in the temp folder. See bench/classroom.py for what is measured.
"""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bench.classroom import run, text_report
from bench.results import cpu_name, write_section

MINUTES = float(os.environ.get("CLASSROOM_MINUTES", "5"))
STUDENTS = int(os.environ.get("CLASSROOM_STUDENTS", "100"))


def main() -> None:
    reports = {}
    for key in ("client", "address"):
        report = run(STUDENTS, MINUTES * 60, key)
        print(text_report(report), flush=True)
        for example in report["error_examples"][:10]:
            print("error:", example)
        for line in report["log_examples"]:
            print("server log:", line)
        reports[key] = report
    Path(tempfile.gettempdir(), "gatescope-classroom.json").write_text(json.dumps(reports))
    write_section("classroom_bench", section(reports))


def section(reports: dict[str, dict[str, Any]]) -> str:
    fair, unfair = reports["client"], reports["address"]
    lines = [
        "## Classroom: 100 students behind one address, 2 workers, loopback (bench/classroom.py)",
        "",
        f"- Machine: {cpu_name()}, shared by the server and the load generator (and, on this "
        "VM, by other jobs: see the load averages)",
        f"- Run: {fair['started']} (fair) and {unfair['started']} (by address); "
        f"{fair['students']} students for {fair['seconds'] / 60:g} min each, all from "
        "127.0.0.1, each its own httpx.AsyncClient and cookie jar; the image's settings "
        "(GATESCOPE_WORKERS=2, GATESCOPE_RATE_LIMIT_ENABLED=true, everything else default)",
        "- Mix (bench/classroom_load.py): students arrive over the first 30 s; page loads "
        "with their static files (the module graph, about 30 files, kept as a browser's "
        "cache keeps them: the versioned files fresh for a year, others revalidated), "
        "model list and info; traces as the explorer asks (float32 safetensors) of built-in "
        "models (text of 10-80 characters, often edited a character at a time with a trace "
        "after each edit, or 12-200 sine steps; H = 16 or 128) and of small random models "
        "whose seed is changed; live typing over /api/v1/step; one upload per ten students; "
        "half-way, the teacher's link: the whole room loads the page and traces at once; "
        "/healthz twice a second. Think times 2-8 s, typing 2.5-8 characters a second. "
        "One student in ten races the /train default (LSTM vs RNN) once to its end.",
        "",
        "### Fair limits (the image's default, GATESCOPE_RATE_LIMIT_KEY=client)",
        "",
        text_report(fair),
        "",
        "### Limits by address alone (GATESCOPE_RATE_LIMIT_KEY=address)",
        "",
        text_report(unfair),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
