import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.engine import Readout, init_params
from app.store import (
    DamagedModel,
    Forbidden,
    ModelInfo,
    ModelNotFound,
    ModelStore,
    StoreFull,
    atomic,
)
from app.store.records import StoredModel

FIELDS = {"cell": "lstm", "layout": "torch", "name": "m", "vocab": None, "input_size": 2,
          "hidden_size": 3, "num_layers": 1, "parameters": 84}  # fmt: skip


def params(seed: int) -> dict[str, np.ndarray]:
    return {k: v.astype(np.float32).astype(np.float64) for k, v in
            init_params("lstm", 2, 3, 1, seed).items()}  # fmt: skip


def test_add_then_reopen_gives_back_the_same_weights(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    readout = Readout(np.arange(6.0).reshape(2, 3), np.array([0.5, -0.5]))
    info, token = store.add(params(1), readout, FIELDS)
    assert token is not None and info.source == "upload" and info.bytes > 0
    again = ModelStore(tmp_path).get(info.id)  # a new process on the same folder
    for name, value in params(1).items():
        np.testing.assert_array_equal(again.params[name], value)
    assert again.readout is not None
    np.testing.assert_array_equal(again.readout.weight, readout.weight)
    assert again.info == info


def test_float32_exact_weights_are_stored_as_float32(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    exact, _ = store.add(params(2), None, FIELDS)
    wide = {k: v + 1e-12 for k, v in params(2).items()}
    widened, _ = store.add(wide, None, FIELDS)
    assert widened.bytes > exact.bytes  # float64 where float32 would lose digits
    np.testing.assert_array_equal(store.get(widened.id).params["weight_ih_l0"],
                                  wide["weight_ih_l0"])  # fmt: skip


def test_same_content_keeps_one_file_and_the_first_token(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    first, token = store.add(params(3), None, FIELDS)
    second, none = store.add(params(3), None, {**FIELDS, "name": "other"})
    assert second.id == first.id and none is None and second.name == "m"
    assert len(list((tmp_path / "models").iterdir())) == 1
    store.delete(first.id, token)


def test_concurrent_adds_of_one_model_store_it_once(tmp_path: Path) -> None:
    tokens: list[str | None] = []

    def add() -> None:
        tokens.append(ModelStore(tmp_path).add(params(4), None, FIELDS)[1])

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(t is not None for t in tokens) == 1
    assert [p.name for p in (tmp_path / "models").iterdir()] == [
        f"{ModelStore(tmp_path).list()[0].id}.safetensors"
    ]


def test_delete_checks_the_token_and_removes_the_file(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    info, token = store.add(params(5), None, FIELDS)
    assert token is not None
    with pytest.raises(Forbidden, match="X-Delete-Token"):
        store.delete(info.id, None)
    with pytest.raises(Forbidden, match="does not match"):
        store.delete(info.id, token + "x")
    store.delete(info.id, token)
    assert not (tmp_path / "models" / f"{info.id}.safetensors").exists()
    with pytest.raises(ModelNotFound):
        store.get(info.id)


@pytest.mark.parametrize(
    "bad", ["../../etc/passwd", "..", "", "x" * 500, "ABCDEF0123456789abcdef01"]
)
def test_ids_that_are_not_ours_are_not_found(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ModelNotFound):
        ModelStore(tmp_path).get(bad)


def test_builtin_models_are_listed_first_and_read_only(tmp_path: Path) -> None:
    info = ModelInfo(id="counter-lstm", name="Counter", cell="lstm", input_size=2,
                     hidden_size=3, num_layers=1, source="builtin", parameters=84)  # fmt: skip
    builtin = StoredModel(info, params(6))
    store = ModelStore(tmp_path, builtins=lambda: [builtin])
    uploaded, _ = store.add(params(7), None, FIELDS)
    assert [m.id for m in store.list()] == ["counter-lstm", uploaded.id]
    assert store.get("counter-lstm") is builtin
    with pytest.raises(Forbidden, match="built-in"):
        store.delete("counter-lstm", "anything")


def test_a_damaged_file_is_reported_not_served(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    info, _ = store.add(params(8), None, FIELDS)
    path = tmp_path / "models" / f"{info.id}.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-4:] = b"\x00\x00\x80\x7f"  # someone changed a weight on disk
    path.write_bytes(bytes(raw))
    with pytest.raises(DamagedModel, match="damaged"):
        ModelStore(tmp_path).get(info.id)
    path.write_bytes(b"garbage")
    fresh = ModelStore(tmp_path)
    assert fresh.list() == []  # listed models all load
    with pytest.raises(DamagedModel):
        fresh.info(info.id)


def test_quota_of_bytes_is_507(tmp_path: Path) -> None:
    store = ModelStore(tmp_path, max_bytes=1024)
    store.add(params(9), None, FIELDS)
    with pytest.raises(StoreFull, match="max_store_bytes"):
        store.add(params(10), None, FIELDS)


def test_write_new_never_overwrites_and_leaves_no_temporaries(tmp_path: Path) -> None:
    dest = tmp_path / "a.bin"
    assert atomic.write_new(dest, b"first") is True
    assert atomic.write_new(dest, b"second") is False
    assert dest.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_sweep_removes_only_old_temporaries(tmp_path: Path) -> None:
    old = tmp_path / f"{atomic.TMP_PREFIX}old"
    young = tmp_path / f"{atomic.TMP_PREFIX}young"
    model = tmp_path / "0123456789abcdef01234567.safetensors"
    for p in (old, young, model):
        p.write_bytes(b"x")
    stale = time.time() - 7200
    os.utime(old, (stale, stale))
    assert atomic.sweep_temporaries(tmp_path, older_than_s=3600) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([young.name, model.name])


def test_opening_the_store_sweeps_killed_writes(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    leftover = folder / f"{atomic.TMP_PREFIX}abc.safetensors.1.2"
    leftover.write_bytes(b"half a model")
    stale = time.time() - 120
    os.utime(leftover, (stale, stale))
    store = ModelStore(tmp_path)
    assert store.list() == []
    assert not leftover.exists()
