"""Fuzz target for the upload parsers (app.store.uploads.read_tensors), run by atheris.

    python -m tests.fuzz.upload_target -max_total_time=60 -rss_limit_mb=2048

Each input picks a file type and mutates a valid seed file (or is taken raw). The parser must
return named arrays within the limits or raise one of the store's errors (415, 422, 413):
any other exception, a crash or a time-out per input (-timeout) is a finding.
"""

import os
import sys
import zlib

import atheris

with atheris.instrument_imports():
    from app.store.errors import StoreError
    from app.store.uploads import FileLimits, read_tensors

from tests.fuzz.seeds import seeds

# Findings already reported, skipped so a local run can look for others: FUZZ_KNOWN=zlib.
_KNOWN = {
    "zlib": zlib.error,
    "notimpl": NotImplementedError,
    "index": IndexError,
    "runtime": RuntimeError,
}
KNOWN = tuple(v for k, v in _KNOWN.items() if k in os.environ.get("FUZZ_KNOWN", ""))
SEEDS = seeds()
NAMES = ["m.safetensors", "m.npz", "m.json", "m.pt", "m", "m.h5"]
LIMITS = FileLimits(max_tensors=64, max_elements=1_000_000, max_unpacked_bytes=16 * 1024 * 1024)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 3)
    if mode == 0:  # raw bytes under any name
        name = NAMES[fdp.ConsumeIntInRange(0, len(NAMES) - 1)]
        blob = fdp.ConsumeBytes(fdp.remaining_bytes())
    else:  # a valid seed with bytes overwritten, cut or inserted
        name, seed = SEEDS[fdp.ConsumeIntInRange(0, len(SEEDS) - 1)]
        buf = bytearray(seed)
        for _ in range(fdp.ConsumeIntInRange(1, 8)):
            if not buf:
                break
            at = fdp.ConsumeIntInRange(0, len(buf) - 1)
            op = fdp.ConsumeIntInRange(0, 2)
            if op == 0:
                buf[at] = fdp.ConsumeInt(1) & 0xFF
            elif op == 1:
                del buf[at : at + fdp.ConsumeIntInRange(1, 64)]
            else:
                buf[at:at] = fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 16))
        blob = bytes(buf)
    try:
        tensors = read_tensors(name, blob, LIMITS)
    except StoreError:
        return
    except KNOWN:
        return
    assert isinstance(tensors, dict)
    assert sum(a.size for a in tensors.values()) <= LIMITS.max_elements
    assert all(a.dtype != object for a in tensors.values())


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
