"""Which loop runs a layer: the NumPy reference, or the compiled kernel when numba is there.

`kernel` arguments are "auto" (the compiled kernel where it runs and helps, else NumPy),
"numpy" (always the reference) or "numba" (the kernel, an EngineError if it cannot run).
The kernel covers the standard LSTM (clamps included); the other cells, and LSTM layers with
a projection (torch's proj_size), use NumPy. "Helps"
is measured (bench/engine_bench.py): in float32 always; in float64 only up to
KERNEL_F64_MAX_HIDDEN, past which NumPy's loop, bound by its matvec, is as fast.
"""

import importlib.util
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from app.engine.errors import EngineError

KERNELS = ("auto", "numpy", "numba")
KERNEL_F64_MAX_HIDDEN = 64


@cache
def numba_version() -> str | None:
    """numba's version when it is installed, else None (nothing is compiled here)."""
    if importlib.util.find_spec("numba") is None:
        return None
    from importlib.metadata import version

    return version("numba")


_auto_compiled = [True]  # False: "auto" means the NumPy loop in this process (allow_compiled)
_failure: list[str] = []  # why the kernel could not be loaded, if it could not
_warmed = threading.Event()  # warm_up has compiled every variant in this process
_warming = threading.Lock()


@cache
def _steps(dtype_name: str) -> Callable[..., Any] | None:
    try:  # compiles (or loads from numba's cache) on import
        from app.engine import kernel_numba
    except Exception as exc:  # numba present but unusable here: the NumPy loop it is
        _failure.append(f"{type(exc).__name__}: {exc}")
        return None
    steps: Callable[..., Any] = getattr(kernel_numba, f"lstm_steps_{dtype_name}")
    return steps


def kernel_status() -> dict[str, Any]:
    """What /readyz reports: numba's version (None: not installed), whether the kernel is
    compiled in this process yet (warm), and why it could not load, if it could not."""
    return {
        "numba": numba_version(),
        "warm": _warmed.is_set(),
        "failure": _failure[0] if _failure else None,
    }


def allow_compiled(allowed: bool) -> None:
    """Process-wide: with False, "auto" always means the NumPy loop (the test suite's
    second pass runs every test so; an explicit "numba" still runs the kernel)."""
    _auto_compiled[0] = allowed


def check_kernel(kernel: str) -> str:
    if kernel not in KERNELS:
        raise EngineError(f"kernel must be one of {', '.join(KERNELS)}; got {kernel!r}", "kernel")
    if kernel == "numba" and (numba_version() is None or _steps("f32") is None):
        why = _failure[0] if _failure else "numba is not installed"
        raise EngineError(f"kernel numba was asked for but cannot run: {why}", "kernel")
    return kernel


def lstm_kernel(kernel: str, dtype: np.dtype[Any], hidden_size: int) -> Callable[..., Any] | None:
    """The compiled LSTM step loop to use, or None for the NumPy loop."""
    if kernel == "numpy" or (kernel == "auto" and not _auto_compiled[0]):
        return None
    if numba_version() is None:
        return None
    name = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}[np.dtype(dtype)]
    if kernel == "auto" and name == "f64" and hidden_size > KERNEL_F64_MAX_HIDDEN:
        return None
    return _steps(name)


def warm_up() -> str | None:
    """Compile (or load from numba's cache) the kernel for every argument type it meets, so
    no request pays for that; numba's version, or None when the NumPy loop is all there is."""
    if numba_version() is None or _steps("f32") is None:
        return None
    from app.engine.params import init_params
    from app.engine.trace import run_trace
    from app.engine.weight_cache import PreparedParams

    plain = init_params("lstm", 1, 1)
    for params in (plain, PreparedParams(plain)):  # writable and read-only (cached) weights
        for dtype in (np.float32, np.float64):
            run_trace("lstm", params, np.zeros((1, 1)), dtype=dtype, kernel="numba")
    _warmed.set()
    return numba_version()


def warm_up_in_background() -> None:
    """warm_up in a daemon thread, once per process: the server answers meanwhile (a trace
    that needs the kernel first waits for numba's compile lock, then runs)."""
    if numba_version() is None or not _warming.acquire(blocking=False):
        return
    threading.Thread(target=warm_up, name="gatescope-kernel-warm-up", daemon=True).start()
