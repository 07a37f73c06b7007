"""HDF5 files (Keras .weights.h5 and .h5) read into plain arrays by a child process with limits.

The child (app/store/hdf5_child.py, run by path so it imports nothing of Gatescope) gets the
file on stdin under an address-space, CPU-time and wall-time limit and answers a safetensors
blob, which the same checked reader as an uploaded .safetensors file reads here. Whatever the
file does to HDF5, the server sees at worst a failed child: a 413 or 422, never a crash.
"""

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from app.store.errors import FileTooLarge, InvalidFile, UnsupportedFile

CHILD = Path(__file__).with_name("hdf5_child.py")
_BASE_MEMORY = 320 * 1024 * 1024  # the child's Python, NumPy and h5py (about 115 MB measured)
_MAX_OBJECTS = 20_000


@dataclass(frozen=True)
class ChildLimits:
    """What one HDF5 read may use: CPU seconds, wall seconds, address space (bytes)."""

    cpu_seconds: int = 20
    wall_seconds: float = 30.0
    memory_bytes: int | None = None  # None: a base, and twice the file and its unpacked limit


@dataclass
class Hdf5Content:
    """An HDF5 file's datasets by path ("layers/lstm/cell/vars/0") and its Keras attributes
    (path -> {name, model_config, layer_names, weight_names, ...}; "" is the root)."""

    tensors: dict[str, np.ndarray]
    attrs: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_hdf5(
    data: bytes, max_tensors: int, max_elements: int, max_bytes: int, child: ChildLimits
) -> Hdf5Content:
    """The file's datasets and attributes; InvalidFile, FileTooLarge or UnsupportedFile."""
    from app.store.uploads import FileLimits, safetensors_tensors

    memory = child.memory_bytes or _BASE_MEMORY + 2 * (len(data) + max_bytes)
    args = [memory, child.cpu_seconds, _MAX_OBJECTS, max_tensors, max_elements, max_bytes]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OPENBLAS_NUM_THREADS": "1",  # each BLAS thread reserves address space
        "OMP_NUM_THREADS": "1",
        "HDF5_PLUGIN_PRELOAD": "::",  # HDF5 loads no filter plugin
    }
    cmd = [sys.executable, "-I", str(CHILD), *map(str, args)]
    try:
        done = subprocess.run(
            cmd, input=data, capture_output=True, timeout=child.wall_seconds, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise FileTooLarge(
            f"reading the HDF5 file took more than {child.wall_seconds:g} s, the limit", "file"
        ) from exc
    except OSError as exc:  # no process could be started: the server's trouble, said plainly
        raise UnsupportedFile(f"HDF5 files cannot be read on this server: {exc}", "file") from exc
    if done.returncode == 2:
        try:
            refusal = orjson.loads(done.stdout)
            status, message = int(refusal["status"]), str(refusal["message"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            status, message = 422, "the HDF5 reader gave no reason"
        error = FileTooLarge if status == 413 else InvalidFile
        raise error(message, "file")
    if done.returncode != 0:
        raise _failed(done.returncode, done.stderr, child, memory)
    limits = FileLimits(max_tensors, max_elements, max_bytes)
    tensors, metadata = safetensors_tensors(done.stdout, limits)
    try:
        attrs = orjson.loads(metadata.get("attrs", "{}"))
    except orjson.JSONDecodeError as exc:
        raise InvalidFile(f"the HDF5 reader's attributes are not JSON: {exc}", "file") from exc
    return Hdf5Content(tensors, attrs if isinstance(attrs, dict) else {})


def _failed(code: int, stderr: bytes, child: ChildLimits, memory: int) -> Exception:
    """The child died: out of CPU time or memory (413), or HDF5 crashed on the file (422)."""
    import signal

    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return FileTooLarge(
            f"reading the HDF5 file took more than {child.cpu_seconds} s of CPU, the limit", "file"
        )
    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    if b"MemoryError" in stderr or b"std::bad_alloc" in stderr:
        return FileTooLarge(f"reading the HDF5 file needs more than {memory >> 20} MiB", "file")
    what = f"signal {-code}" if code < 0 else f"exit status {code}"
    return InvalidFile(f"the HDF5 library failed on the file ({what}) {tail[0][:200]}", "file")
