"""What the API bench times besides the API: the engine's compute and torch.nn.LSTM's forward
pass for the same sizes, each timed in this process with one thread."""

import time
from collections.abc import Callable

import numpy as np

from app.engine import init_params, run_trace


def engine_time(T: int, D: int, H: int, dtype: str) -> Callable[[], float]:
    params = init_params("lstm", D, H, 1, 0)
    x = np.random.default_rng(0).uniform(-1, 1, (T, D)).round(4)

    def once() -> float:
        t0 = time.perf_counter()
        run_trace("lstm", params, x, dtype=np.dtype(dtype))
        return time.perf_counter() - t0

    return once


def torch_time(T: int, D: int, H: int, dtype: str) -> Callable[[], float] | None:
    """torch.nn.LSTM's forward pass (h and c only) for the same sizes, one thread; None
    without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    lstm = torch.nn.LSTM(D, H).to(getattr(torch, dtype))
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (T, D))).to(getattr(torch, dtype))

    def once() -> float:
        t0 = time.perf_counter()
        with torch.no_grad():
            lstm(x)
        return time.perf_counter() - t0

    return once
