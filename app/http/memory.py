"""glibc malloc settings for a server whose requests allocate large, short-lived buffers.

A long trace allocates a few megabytes at a time (the engine's trace buffer, the encoded
answer). By default glibc serves each such block with a fresh mmap and unmaps it on free, so
every request pays the kernel to fault in and zero the same pages again: measured on
(1000, 64, 128), a safetensors answer took 39 ms instead of 30 ms. Serving blocks up to
32 MB from the heap and keeping up to 64 MB of freed memory per arena for reuse avoids that,
at the cost of that much resident memory held between requests. Two arenas at most (one
per core of the image's machine, not glibc's eight per core) keep that cost bounded however
many threads the worker's pool runs. Peak RSS of the load bench's server (master and two
workers): 321 MB with glibc's defaults, 444 MB with the thresholds alone, 294 MB with the cap.
"""

import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # from glibc's malloc.h
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 64 << 20
ARENA_MAX = 2


def keep_large_blocks() -> bool:
    """Apply the settings to this process; False where the C library has no mallopt (musl)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    settings = ((M_ARENA_MAX, ARENA_MAX), (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                (M_TRIM_THRESHOLD, TRIM_THRESHOLD))  # fmt: skip
    return all([bool(mallopt(param, value)) for param, value in settings])
