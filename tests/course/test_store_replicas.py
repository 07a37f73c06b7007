"""The model store seen by several replicas at once: separate processes, each with its own
ModelStore (and its caches, kept warm between calls) on one folder, as the course's replicas
share one volume. What one stores or deletes, the others see at the very next call; two
writing at once neither half-write a file nor lose one."""

import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.engine import init_params
from app.store import ModelNotFound, ModelStore
from app.store.atomic import TMP_PREFIX

FIELDS = {"cell": "lstm", "layout": "torch", "name": "m", "vocab": None, "input_size": 2,
          "hidden_size": 3, "num_layers": 1, "parameters": 84}  # fmt: skip
_store: ModelStore | None = None  # one per replica process


def _open(folder: str) -> None:
    global _store
    _store = ModelStore(Path(folder))


def _params(seed: int) -> dict[str, np.ndarray]:
    return {k: v.astype(np.float32).astype(np.float64)
            for k, v in init_params("lstm", 2, 3, 1, seed).items()}  # fmt: skip


def add(seed: int, not_before: float = 0.0) -> tuple[str, str | None]:
    assert _store is not None
    while time.time() < not_before:  # start together with the other replica
        pass
    info, token = _store.add(_params(seed), None, FIELDS)
    return info.id, token


def ids() -> list[str]:
    assert _store is not None
    return [i.id for i in _store.list() if i.source == "upload"]


def weights(model_id: str) -> dict[str, list[Any]] | str:
    assert _store is not None
    try:
        return {k: v.tolist() for k, v in _store.get(model_id).params.items()}
    except ModelNotFound:
        return "not found"


def info_or_missing(model_id: str) -> str:
    assert _store is not None
    try:
        return _store.info(model_id).id
    except ModelNotFound:
        return "not found"


def delete(model_id: str, token: str) -> str:
    assert _store is not None
    try:
        _store.delete(model_id, token)
    except Exception as exc:
        return type(exc).__name__
    return "deleted"


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[ProcessPoolExecutor, ProcessPoolExecutor]]:
    spawn = get_context("spawn")
    pools = [
        ProcessPoolExecutor(1, mp_context=spawn, initializer=_open, initargs=(str(tmp_path),))
        for _ in range(2)
    ]
    yield pools[0], pools[1]
    for pool in pools:
        pool.shutdown()


def test_an_upload_or_delete_is_seen_by_the_other_replica_at_once(
    replicas: tuple[ProcessPoolExecutor, ProcessPoolExecutor],
) -> None:
    one, two = replicas
    assert two.submit(ids).result() == []  # two's caches are warm and empty
    model_id, token = one.submit(add, 1).result()
    assert token is not None
    assert two.submit(ids).result() == [model_id]
    expected = {k: v.tolist() for k, v in _params(1).items()}
    assert two.submit(weights, model_id).result() == expected
    assert one.submit(weights, model_id).result() == expected  # now cached in both

    assert two.submit(delete, model_id, token).result() == "deleted"
    assert one.submit(ids).result() == []
    assert one.submit(weights, model_id).result() == "not found"  # its cache is not trusted
    assert one.submit(info_or_missing, model_id).result() == "not found"

    # the same weights again, through the first: a new file, a new token; the second, which
    # had the old file's description cached, takes the new token and refuses the old one
    again, new_token = one.submit(add, 1).result()
    assert again == model_id and new_token not in (None, token)
    assert two.submit(delete, model_id, token).result() == "Forbidden"
    assert two.submit(delete, model_id, new_token).result() == "deleted"
    assert one.submit(ids).result() == []


def test_two_replicas_writing_at_once_lose_nothing_and_half_write_nothing(
    replicas: tuple[ProcessPoolExecutor, ProcessPoolExecutor], tmp_path: Path
) -> None:
    one, two = replicas
    one.submit(ids).result(), two.submit(ids).result()  # both started
    start = time.time() + 0.5
    # the same 20 models from both at the same moment, and 20 of each replica's own
    same = [(one.submit(add, s, start), two.submit(add, s, start)) for s in range(20)]
    own = [one.submit(add, 100 + s) for s in range(20)] + [
        two.submit(add, 200 + s) for s in range(20)
    ]
    pairs = [(a.result(), b.result()) for a, b in same]
    for (id_a, token_a), (id_b, token_b) in pairs:
        assert id_a == id_b
        assert (token_a is None) != (token_b is None)  # exactly one of them stored it
    stored = {f.result()[0] for f in own} | {a[0] for a, _ in pairs}
    assert len(stored) == 60
    assert sorted(one.submit(ids).result()) == sorted(two.submit(ids).result()) == sorted(stored)
    leftovers = [n for n in os.listdir(tmp_path / "models") if n.startswith(TMP_PREFIX)]
    assert leftovers == []
    for seed, (model_id, _) in zip(range(20), (a for a, _ in pairs), strict=True):
        expected = {k: v.tolist() for k, v in _params(seed).items()}
        assert two.submit(weights, model_id).result() == expected  # complete, hash checked
