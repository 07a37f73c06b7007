"""Mutated Keras 3 files (.weights.h5 and .keras) through the upload reader: each mutation is
read by the HDF5 child process and must give arrays within the limits or a store error
(413/422), never another exception, a hang or a crashed parent. Bounded: each read spawns a
process, so few examples."""

import io
import zipfile

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store.errors import StoreError
from app.store.uploads import FileLimits, read_tensors
from tests.fuzz.test_upload_fuzz import mutate

LIMITS = FileLimits(max_tensors=64, max_elements=1_000_000, max_unpacked_bytes=16 * 1024 * 1024)


def _weights_h5() -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        rng = np.random.default_rng(0)
        for j, shape in enumerate([(3, 8), (2, 8), (8,)]):
            f.create_dataset(f"layers/lstm/cell/vars/{j}", data=rng.normal(size=shape))
        f.create_dataset("layers/dense/vars/0", data=rng.normal(size=(2, 4)), compression="gzip")
        f["layers/lstm/cell/vars"].attrs["name"] = "lstm_cell"
    return buf.getvalue()


def _keras(weights: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", '{"class_name": "Sequential", "config": {"layers": []}}')
        z.writestr("model.weights.h5", weights)
    return buf.getvalue()


SEEDS = [("m.weights.h5", _weights_h5()), ("m.keras", _keras(_weights_h5()))]


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(range(len(SEEDS))),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 2), st.binary(min_size=1, max_size=16)),
        min_size=1,
        max_size=8,
    ),
)
def test_mutated_keras_files_raise_only_store_errors(which: int, edits: list) -> None:  # type: ignore[type-arg]
    name, seed = SEEDS[which]
    try:
        tensors = read_tensors(name, mutate(seed, edits), LIMITS)
    except StoreError:
        return
    assert sum(a.size for a in tensors.values()) <= LIMITS.max_elements
    assert all(a.dtype.kind in "fiu" for a in tensors.values())
