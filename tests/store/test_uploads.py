"""Upload parsers: files are checked before they are loaded; nothing is ever unpickled."""

import io
import json
import pickle
import re
import struct
import time
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save

from app.store import FileLimits, FileTooLarge, InvalidFile, UnsupportedFile, read_tensors

LIMITS = FileLimits(max_tensors=16, max_elements=10_000, max_unpacked_bytes=1_000_000)
W = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1.5, -2.0])}


def header_file(header: object, data: bytes, claimed: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if claimed is None else claimed) + raw + data


def npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "blob"),
    [
        ("m.safetensors", save(W)),
        ("m.npz", npz(**W)),
        ("m.json", json.dumps({k: v.tolist() for k, v in W.items()}).encode()),
    ],
)
def test_each_format_reads_the_same_arrays(name: str, blob: bytes) -> None:
    got = read_tensors(name, blob, LIMITS)
    assert set(got) == {"w", "b"}
    np.testing.assert_array_equal(got["w"], W["w"])
    np.testing.assert_array_equal(got["b"], W["b"])


ENTRY = {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}


@pytest.mark.parametrize(
    ("blob", "says"),
    [
        (b"1234", "too short"),
        (header_file({"w": ENTRY}, bytes(24), claimed=10**12), "claims 1000000000000 bytes"),
        (header_file({"w": {**ENTRY, "shape": [4, 3]}}, bytes(24)), "needs 48 bytes"),
        (header_file({"w": ENTRY}, bytes(30)), "truncated or padded"),
        (header_file({"w": ENTRY}, bytes(20)), "tensors cover 24 bytes"),
        (header_file({"w": {**ENTRY, "shape": [-2, 3]}}, bytes(24)), "whole numbers"),
        (header_file({"w": {**ENTRY, "dtype": "F8_E4M3", "data_offsets": [0, 6]}}, bytes(6)),
         "F8_E4M3"),
        (header_file({"a": ENTRY, "b": {**ENTRY, "data_offsets": [12, 36]}}, bytes(36)),
         "starts at byte 12, expected 24"),
        (header_file([1, 2], b""), "not a JSON object"),
        (struct.pack("<Q", 4) + b"{bad", "not valid JSON"),
    ],
)  # fmt: skip
def test_lying_safetensors_headers_are_refused_before_loading(blob: bytes, says: str) -> None:
    with pytest.raises(InvalidFile, match=says):
        read_tensors("m.safetensors", blob, LIMITS)


def test_too_many_numbers_are_refused_from_the_header() -> None:
    blob = header_file({"w": {**ENTRY, "shape": [100, 101], "data_offsets": [0, 40400]}},
                       bytes(40400))  # fmt: skip
    with pytest.raises(FileTooLarge, match="10100 numbers, the limit is 10000"):
        read_tensors("m.safetensors", blob, LIMITS)


@pytest.mark.parametrize(
    ("filename", "blob"),
    [
        ("model.pt", b"anything at all"),
        ("model.pth", b""),
        ("weights.safetensors", pickle.dumps({"w": [1.0]}, protocol=4)),
        ("weights.npz", b""),
    ],
)
def test_pickles_are_refused_with_the_export_recipe(filename: str, blob: bytes) -> None:
    if filename == "weights.npz":  # what torch.save writes: a zip holding data.pkl
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("archive/data.pkl", pickle.dumps({"w": 1}))
        blob = buf.getvalue()
    with pytest.raises(UnsupportedFile) as refused:
        read_tensors(filename, blob, LIMITS)
    assert 'save_file(model.state_dict(), "model.safetensors")' in refused.value.message


def test_unknown_types_are_415() -> None:
    with pytest.raises(UnsupportedFile, match=r"\.txt"):
        read_tensors("model.txt", b"hello", LIMITS)


def test_npz_with_object_arrays_is_refused_without_unpickling() -> None:
    blob = npz(w=np.array([{"x": 1}, "y"], dtype=object))
    with pytest.raises(UnsupportedFile, match="never unpickles"):
        read_tensors("m.npz", blob, LIMITS)


def test_npz_zip_bomb_is_refused_from_its_directory() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("w.npy", bytes(50_000_000))  # 50 MB of zeros, ~50 KB packed
    t0 = time.perf_counter()
    with pytest.raises(FileTooLarge, match="unpacks to 50000000 bytes, the limit is 1000000"):
        read_tensors("m.npz", buf.getvalue(), LIMITS)
    assert time.perf_counter() - t0 < 0.5  # nothing was inflated


def test_npz_member_whose_header_lies_about_its_size() -> None:
    good = io.BytesIO()
    np.save(good, np.zeros((2, 3)))
    raw = good.getvalue().replace(b"(2, 3)", b"(9, 3)")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("w.npy", raw)
    with pytest.raises(InvalidFile, match=r"shape \(9, 3\)"):
        read_tensors("m.npz", buf.getvalue(), LIMITS)


@pytest.mark.parametrize(
    ("blob", "says"),
    [
        (b'{"w": [[1, 2], [3]]}', "ragged"),
        (b'{"w": [[true, 0.5]]}', "only numbers"),
        (b'{"w": [["1", 2]]}', "only numbers"),
        (b'{"w": [null]}', "only numbers"),
        (b"[1, 2]", "must be an object"),
        (b'{"w": [1e999]}', "not valid JSON"),
        (b'{"w": ' + b"[" * 5000 + b"]" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_json_weights_must_be_rectangular_numbers(blob: bytes, says: str) -> None:
    with pytest.raises(InvalidFile, match=says):
        read_tensors("m.json", blob, LIMITS)


def _patched_directory(blob: bytes, offset: int, value: int) -> bytes:
    """Overwrite one little-endian u16 of the first central-directory entry."""
    at = blob.index(b"PK\x01\x02") + offset
    return blob[:at] + struct.pack("<H", value) + blob[at + 2 :]


@pytest.mark.parametrize(
    ("blob", "says"),
    [
        (_patched_directory(npz(**W), 6, 0xFF), "NotImplementedError"),  # a future zip version
        (_patched_directory(npz(**W), 8, 1), "encrypted"),
        (b"PK\x03\x04" + bytes(100), "cannot be read"),
    ],
)  # fmt: skip
def test_hostile_zip_archives_are_422_not_500(blob: bytes, says: str) -> None:
    with pytest.raises(InvalidFile, match=says):
        read_tensors("m.npz", blob, LIMITS)


@pytest.mark.parametrize(
    ("array", "says"),
    [
        (np.ones((2, 3), dtype=np.complex64) * (1 + 1j), "holds complex numbers (complex64)"),
        (np.ones((2, 3), dtype=bool), "holds booleans (bool)"),
    ],
)
def test_complex_and_boolean_arrays_are_refused_by_name(array: np.ndarray, says: str) -> None:
    # a cast to float would drop the imaginary part (or read True as 1.0) without a word
    with pytest.raises(InvalidFile, match=rf"array w {re.escape(says)}"):
        read_tensors("m.npz", npz(w=array), LIMITS)


def test_bfloat16_tensors_are_read_as_the_float32_numbers_they_are() -> None:
    # bfloat16 bits are a float32's top half: 1.0, -2.5, 0.15625 and a tiny 2**-100 are exact
    values = np.array([[1.0, -2.5, 0.15625], [2.0**-100, 0.0, 3.0]], dtype=np.float32)
    bits = (values.view(np.uint32) >> 16).astype("<u2")
    blob = header_file({"w": {**ENTRY, "dtype": "BF16", "data_offsets": [0, 12]}}, bits.tobytes())
    got = read_tensors("m.safetensors", blob, LIMITS)["w"]  # was refused: "save it as float32"
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, values)


@pytest.mark.parametrize("header_bytes", [640, 896, 1152, 1408])
def test_a_safetensors_header_whose_length_starts_like_a_pickle_is_read(header_bytes: int) -> None:
    # 640 is 80 02 00 .. in little endian: the PROTO 2 opcode; these files got a 415
    entry = {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    raw = json.dumps({"w": entry}).encode()
    header = raw + b" " * (header_bytes - len(raw))  # the format allows padding with spaces
    blob = struct.pack("<Q", header_bytes) + header + np.arange(6, dtype="<f4").tobytes()
    got = read_tensors("m.safetensors", blob, LIMITS)
    np.testing.assert_array_equal(got["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
