"""gzip for large JSON answers, done in the worker thread that made them, never on the event
loop (a 23 MB answer takes about 0.3 s to compress even at level 1).

Chosen by measurement (bench/wire_bench.py measures it again on every run) on a
(1000, 64, 128) LSTM trace, one core of the 2-core VM:

| answer | bytes | level 1 | level 3 | level 6 |
|---|---|---|---|---|
| JSON float64 | 23.0 MB | 0.48 of it, 0.31 s | 0.46, 0.90 s | 0.45, 1.72 s |
| JSON float32 (5 decimals) | 11.6 MB | 0.37, 0.11 s | 0.35, 0.18 s | 0.30, 0.48 s |
| safetensors float32 | 4.6 MB | 0.91, 0.12 s | 0.91, 0.13 s | 0.91, 0.14 s |
| safetensors float64 | 9.2 MB | 0.95, 0.29 s | 0.95 | 0.95 |

So JSON is compressed at level 1 (level 6 saves a few percent more for 3-5 times the CPU,
which a classroom's server does not have to spare), and binary answers are sent as they are:
raw float bits save 5-9% for as much CPU time as the transfer of those bytes at 20 Mbit/s.
Below ``gzip_min_bytes`` (default 1400, about one TCP segment) nothing is gained.
"""

import zlib

GZIP_WBITS = 31  # zlib's gzip container


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip``, ``x-gzip`` or ``*``, q > 0)."""
    allowed: dict[str, bool] = {}
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name.strip():
            allowed[name.strip()] = q > 0
    if "gzip" in allowed or "x-gzip" in allowed:
        return allowed.get("gzip", False) or allowed.get("x-gzip", False)
    return allowed.get("*", False)


def gzip_parts(parts: list[bytes], level: int) -> bytes:
    """The concatenation of parts as one gzip member, compressed part by part (no join)."""
    packer = zlib.compressobj(level, zlib.DEFLATED, GZIP_WBITS)
    out = [packer.compress(p) for p in parts]
    out.append(packer.flush())
    return b"".join(out)
