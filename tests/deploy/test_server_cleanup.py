"""The test servers clean up after themselves: a two-worker `gatescope serve` leaves no spawned
worker or resource tracker behind (orphans of ~190 MB each piled up over runs before)."""

from pathlib import Path

import httpx

from tests.deploy.conftest import serve


def test_stop_leaves_no_worker_or_tracker_of_a_two_worker_server(tmp_path: Path) -> None:
    served = serve(tmp_path, {"GATESCOPE_WORKERS": "2"})
    assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200
    members = served.group()
    # the supervisor, two spawned workers and multiprocessing's resource tracker at least
    assert served.proc.pid in members and len(members) >= 3, members
    served.stop()
    assert served.group() == []


def test_stop_after_a_clean_sigterm_finds_nothing_left(tmp_path: Path) -> None:
    served = serve(tmp_path, {"GATESCOPE_WORKERS": "2"})
    assert served.terminate()
    served.stop()  # the fixture's teardown always runs this; it must be harmless here
    assert served.group() == []
