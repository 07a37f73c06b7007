"""schemathesis, all checks, 200 examples per operation, against a real server: the CI run.

tests/api holds the quick in-process run (100 examples) that every `make test` does; this
one doubles the examples over HTTP and runs where CI=true (or SCHEMATHESIS_200=1), bounded
by --max-time. The examples and fuzzing phases only: the coverage phase multiplies the
count many times over and the stateful phase needs more steps than the budget allows.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI, REPO, start_server, stop_server

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "200"))
MAX_SECONDS = int(os.environ.get("SCHEMATHESIS_SECONDS", "420"))


@pytest.mark.slow
def test_schemathesis_all_checks_200_examples(tmp_path: Path) -> None:
    if not (IN_CI or os.environ.get("SCHEMATHESIS_200") == "1"):
        pytest.skip("the 200-example schemathesis run is CI-only (set SCHEMATHESIS_200=1)")
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli is not None, "schemathesis is not installed (pip install '.[test]')"
    server = start_server(tmp_path / "data")
    try:
        cmd = [cli, "run", f"{server.url}/openapi.json", "--checks", "all"]
        cmd += ["--max-examples", str(EXAMPLES), "--phases", "examples,fuzzing"]
        cmd += ["--seed", "1", "--workers", "1", "--no-color", "--generation-database", "none"]
        cmd += ["--request-timeout", "30", "--max-time", str(MAX_SECONDS)]
        done = subprocess.run(
            cmd, cwd=REPO, capture_output=True, text=True, timeout=MAX_SECONDS + 120
        )
    finally:
        stop_server(server)
    out = done.stdout[-8000:]
    print(out)
    assert done.returncode == 0, f"schemathesis found failures:\n{out}"
    assert server.proc.returncode is not None  # the server was stopped, not left running
