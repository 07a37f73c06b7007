"""Hostile and broken Keras 3 / HDF5 uploads: each is a 413 or 422 from a child process that
read the HDF5 under limits, never a crash, a hang or a read of another file on the machine."""

import io
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from app.store import FileLimits, FileTooLarge, InvalidFile, read_tensors
from app.store.errors import StoreError
from app.store.hdf5 import ChildLimits
from app.store.uploads import read_keras_upload

LIMITS = FileLimits(max_tensors=64, max_elements=1_000_000, max_unpacked_bytes=16 << 20)


def _h5(build) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    return buf.getvalue()


def _weights(f: h5py.File) -> None:
    f.create_dataset("layers/lstm/cell/vars/0", data=np.ones((2, 8), np.float32))
    f.create_dataset("layers/lstm/cell/vars/1", data=np.ones((2, 8), np.float32))
    f["layers/lstm/cell/vars"].attrs["name"] = "lstm_cell"


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, blob in members.items():
            z.writestr(name, blob)
    return buf.getvalue()


def test_a_weights_h5_is_read_into_arrays_by_path() -> None:
    got = read_tensors("m.weights.h5", _h5(_weights), LIMITS)
    assert sorted(got) == ["layers/lstm/cell/vars/0", "layers/lstm/cell/vars/1"]
    assert got["layers/lstm/cell/vars/0"].dtype == np.float32
    assert read_keras_upload("m.weights.h5", _h5(_weights), LIMITS).attrs == {
        "layers/lstm/cell/vars": {"name": "lstm_cell"}
    }


@pytest.mark.parametrize(
    "blob",
    [b"\x89HDF\r\n\x1a\n" + bytes(8), b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8],
    ids=["header_only", "garbage_after_magic"],
)
def test_corrupt_hdf5_bytes_are_422(blob: bytes) -> None:
    with pytest.raises(InvalidFile, match="HDF5"):
        read_tensors("m.weights.h5", blob, LIMITS)


def test_a_truncated_weights_h5_is_422() -> None:
    whole = _h5(_weights)
    for cut in (len(whole) // 3, len(whole) - 100):
        with pytest.raises(InvalidFile):
            read_tensors("m.weights.h5", whole[:cut], LIMITS)


def test_every_truncation_of_a_keras_zip_is_a_store_error() -> None:
    keras = _zip({"config.json": b"{}", "model.weights.h5": _h5(_weights)})
    for cut in range(0, len(keras), max(1, len(keras) // 25)):
        with pytest.raises(StoreError):
            read_tensors("m.keras", keras[:cut], LIMITS)


def test_a_zip_bomb_keras_file_is_413_before_it_is_unpacked() -> None:
    bomb = _zip({"config.json": b"{}", "model.weights.h5": bytes(64 << 20)}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 200_000
    with pytest.raises(FileTooLarge, match=r"model\.weights\.h5 in the \.keras file unpacks to"):
        read_tensors("m.keras", bomb, LIMITS)


def test_a_huge_declared_dataset_is_413_without_being_read() -> None:
    def build(f: h5py.File) -> None:  # chunked and empty: tiny on disk, 10^10 numbers declared
        f.create_dataset("layers/lstm/cell/vars/0", shape=(100_000, 100_000), dtype="f4",
                         chunks=(100, 100))  # fmt: skip

    with pytest.raises(FileTooLarge, match="more than 1000000 numbers"):
        read_tensors("m.weights.h5", _h5(build), LIMITS)


def test_external_storage_and_links_to_other_files_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype="f4").tobytes())

    def external(f: h5py.File) -> None:
        f.create_dataset("x", shape=(4,), dtype="f4", external=[(str(secret), 0, 16)])

    with pytest.raises(InvalidFile, match="other files"):
        read_tensors("m.weights.h5", _h5(external), LIMITS)

    def linked(f: h5py.File) -> None:
        f["y"] = h5py.ExternalLink(str(secret), "/x")

    with pytest.raises(InvalidFile, match="ExternalLink"):
        read_tensors("m.weights.h5", _h5(linked), LIMITS)


def test_a_cycle_of_hard_links_is_read_once() -> None:
    def build(f: h5py.File) -> None:
        _weights(f)
        f["layers/lstm/loop"] = f["layers"]  # layers/lstm/loop is layers again

    got = read_tensors("m.weights.h5", _h5(build), LIMITS)
    assert len(got) == 2


def test_a_child_over_its_memory_limit_is_413() -> None:
    def build(f: h5py.File) -> None:  # compressed zeros: small file, 64 MB unpacked
        f.create_dataset("z", data=np.zeros(16 << 20, "f4"), compression="gzip")

    big = FileLimits(max_tensors=64, max_elements=1 << 30, max_unpacked_bytes=1 << 30)
    child = ChildLimits(memory_bytes=160 << 20)  # the base uses about 115 MB
    with pytest.raises(FileTooLarge, match="MiB"):
        read_keras_upload("m.weights.h5", _h5(build), big, child)


def test_a_child_over_its_time_limit_is_413() -> None:
    def build(f: h5py.File) -> None:
        f.create_dataset("z", data=np.zeros(4 << 20, "f4"), compression="gzip")

    big = FileLimits(max_tensors=64, max_elements=1 << 30, max_unpacked_bytes=1 << 30)
    with pytest.raises(FileTooLarge, match="took more than"):
        read_keras_upload("m.weights.h5", _h5(build), big, ChildLimits(wall_seconds=0.01))


def test_a_keras_zip_without_weights_or_with_broken_config_is_422() -> None:
    with pytest.raises(InvalidFile, match=r"no model\.weights\.h5"):
        read_tensors("m.keras", _zip({"config.json": b"{}"}), LIMITS)
    broken = _zip({"config.json": b"{not json", "model.weights.h5": _h5(_weights)})
    with pytest.raises(InvalidFile, match="not JSON"):
        read_tensors("m.keras", broken, LIMITS)


def test_a_keras_name_on_other_bytes_is_422() -> None:
    with pytest.raises(InvalidFile, match=r"model\.save"):
        read_tensors("m.keras", b"hello", LIMITS)
