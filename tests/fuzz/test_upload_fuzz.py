"""Fuzzing the upload parsers (app.store.uploads.read_tensors): atheris for a bounded time
(FUZZ_SECONDS, 60 in CI, 10 elsewhere) and Hypothesis mutations of valid files. The parser
must return arrays within the limits or raise a store error (415/422/413), nothing else.

Findings not yet fixed are listed in KNOWN_FINDINGS: the fuzzers skip those exception types,
and test_known_finding_is_fixed reproduces each as a strict xfail, which turns into a failure
once the parser is fixed, so the entry (and its skip) gets removed.
"""

import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store.errors import StoreError
from app.store.uploads import FileLimits, read_tensors
from tests.conftest import IN_CI, REPO, skip_or_fail
from tests.fuzz.seeds import broken_zips, seeds

# finding -> (the exception type the fuzz target skips, as named in FUZZ_KNOWN)
KNOWN_FINDINGS: dict[str, tuple[type[Exception], str]] = {}  # all fixed so far
KNOWN_TYPES = tuple(t for t, _ in KNOWN_FINDINGS.values())
SECONDS = int(os.environ.get("FUZZ_SECONDS", "60" if IN_CI else "10"))
LIMITS = FileLimits(max_tensors=64, max_elements=1_000_000, max_unpacked_bytes=16 * 1024 * 1024)


@pytest.mark.slow
def test_upload_parsers_survive_atheris(tmp_path) -> None:  # type: ignore[no-untyped-def]
    try:
        import atheris  # noqa: F401
    except ImportError:
        skip_or_fail("atheris is not installed (pip install '.[test]')")
    env = {**os.environ, "FUZZ_KNOWN": ",".join(name for _, name in KNOWN_FINDINGS.values())}
    cmd = [sys.executable, "-m", "tests.fuzz.upload_target", f"-max_total_time={SECONDS}"]
    cmd += ["-rss_limit_mb=2048", "-timeout=10", f"-artifact_prefix={tmp_path}/", "-seed=1"]
    done = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=SECONDS + 120
    )
    runs = re.search(r"Done (\d+) runs in (\d+) second", done.stderr)
    tail = done.stderr[-3000:]
    assert done.returncode == 0, f"the fuzzer found a crash (input in {tmp_path}):\n{tail}"
    assert runs is not None and int(runs.group(1)) > 1000, tail
    print(f"atheris: {runs.group(1)} inputs in {runs.group(2)} s, no finding")


def mutate(seed: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    buf = bytearray(seed)
    for at, op, blob in edits:
        if not buf:
            break
        at %= len(buf)
        if op == 0:
            buf[at : at + len(blob)] = blob
        elif op == 1:
            del buf[at : at + 1 + len(blob)]
        else:
            buf[at:at] = blob
    return bytes(buf)


SEEDS = seeds()


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(range(len(SEEDS))),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 2), st.binary(min_size=1, max_size=16)),
        min_size=1,
        max_size=8,
    ),
)
def test_mutated_files_raise_only_store_errors(which: int, edits: list) -> None:  # type: ignore[type-arg]
    name, seed = SEEDS[which]
    try:
        tensors = read_tensors(name, mutate(seed, edits), LIMITS)
    except (StoreError, *KNOWN_TYPES):
        return
    assert sum(a.size for a in tensors.values()) <= LIMITS.max_elements
    assert all(a.dtype != object for a in tensors.values())


@settings(max_examples=200, deadline=2000)
@given(st.binary(max_size=512), st.sampled_from(["m.safetensors", "m.npz", "m.json", "m.pt"]))
def test_random_bytes_raise_only_store_errors(data: bytes, name: str) -> None:
    try:
        read_tensors(name, data, LIMITS)
    except (StoreError, *KNOWN_TYPES):
        pass


@pytest.mark.parametrize("finding", sorted(set(broken_zips()) - set(KNOWN_FINDINGS)))
def test_fixed_finding_stays_fixed(finding: str) -> None:
    with pytest.raises(StoreError):
        read_tensors("m.npz", broken_zips()[finding], LIMITS)
