"""Weights prepared once per model: the re-stacked, transposed, aligned copies the cell loops
run on, kept beside the PyTorch-layout tensors they come from.

Re-stacking costs a copy of every matrix per trace (about 30% of a small trace's time), and a
stored model's weights never change, so the store hands the engine a PreparedParams: a dict
of the usual tensors that also carries a StackCache. Anything else (a plain dict, weights
being trained) is re-stacked on every call, as before. Entries are keyed by the identity of
their source arrays and keep them, so a key can never name other arrays; changing a
PreparedParams' arrays in place after a trace would leave stale copies, which is why the
store's models are never changed but replaced.
"""

import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


class StackCache:
    """Prepared copies of one model's weights; hits and misses count lookups (for tests)."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[tuple[np.ndarray, ...], Any]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.checked = False  # check_weights has passed these tensors

    def get(self, key: Hashable, sources: tuple[np.ndarray, ...], make: Callable[[], T]) -> T:
        """make()'s value for these source arrays, made at most once per (key, sources)."""
        full = (key, *(id(a) for a in sources))
        with self._lock:
            kept = self._entries.get(full)
            if kept is not None and all(a is b for a, b in zip(kept[0], sources, strict=True)):
                self.hits += 1
                value: T = kept[1]
                return value
        value = make()  # outside the lock: two threads may both make it; one copy is kept
        for a in value if isinstance(value, tuple) else (value,):
            if isinstance(a, np.ndarray):
                a.flags.writeable = False  # shared by every trace of the model from now on
        with self._lock:
            self.misses += 1
            self._entries[full] = (sources, value)
        return value

    @property
    def nbytes(self) -> int:
        with self._lock:
            values = [v for _, v in self._entries.values()]
        return sum(a.nbytes for v in values for a in (v if isinstance(v, tuple) else (v,)))


class PreparedParams(dict[str, np.ndarray]):
    """PyTorch-layout weights (name -> array) that will not change, with their StackCache."""

    def __init__(self, params: Mapping[str, np.ndarray], cache: StackCache | None = None):
        super().__init__(params)
        self.cache = StackCache() if cache is None else cache


def stack_cache(params: Mapping[str, np.ndarray]) -> StackCache | None:
    return params.cache if isinstance(params, PreparedParams) else None


def cached(
    params: Mapping[str, np.ndarray], key: Hashable, names: tuple[str, ...], make: Callable[[], T]
) -> T:
    """make() once per PreparedParams for the tensors `names`; on every call otherwise."""
    cache = stack_cache(params)
    if cache is None:
        return make()
    return cache.get(key, tuple(params[n] for n in names), make)
