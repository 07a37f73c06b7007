"""Valid upload files to start fuzzing from: one of each type the store reads."""

import io
import json
import struct
import zipfile

import numpy as np


def safetensors_file(tensors: dict[str, np.ndarray]) -> bytes:
    """The safetensors layout written by hand: u64 header length, JSON header, raw data."""
    codes = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64"}
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": codes[arr.dtype],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def npz_file(tensors: dict[str, np.ndarray], compressed: bool = False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **tensors)  # type: ignore[operator]
    return buf.getvalue()


def lstm_tensors(d: int = 2, h: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "weight_ih_l0": rng.standard_normal((4 * h, d)).astype(np.float32),
        "weight_hh_l0": rng.standard_normal((4 * h, h)).astype(np.float32),
        "bias_ih_l0": rng.standard_normal(4 * h).astype(np.float32),
        "bias_hh_l0": rng.standard_normal(4 * h).astype(np.float32),
    }


def json_file(tensors: dict[str, np.ndarray]) -> bytes:
    return json.dumps({k: v.tolist() for k, v in tensors.items()}).encode()


def zip_bomb_npz(claimed_elements: int = 200_000_000) -> bytes:
    """An .npz whose one member inflates to claimed_elements float64 zeros (~1.6 GB at 2e8)."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (claimed_elements,)}
    text = repr(header).encode()
    pad = -(10 + len(text) + 1) % 64
    npy_head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) + pad + 1) + text
    npy_head += b" " * pad + b"\n"
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("w.npy", "w", force_zip64=True) as fp,
    ):
        fp.write(npy_head)
        chunk = bytes(8 * 1024 * 1024)
        left = claimed_elements * 8
        while left > 0:
            fp.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return buf.getvalue()


def pickle_npz() -> bytes:
    """An .npz holding an object array: loading it would need unpickling."""
    buf = io.BytesIO()
    np.savez(buf, w=np.array([{"x": 1}, "y"], dtype=object))
    return buf.getvalue()


def torch_like_pt() -> bytes:
    """What torch.save writes: a zip with a pickle inside (made without torch)."""
    import pickle

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"weight_ih_l0": [1.0, 2.0]}, protocol=2))
        zf.writestr("archive/version", "3\n")
    return buf.getvalue()


def seeds() -> list[tuple[str, bytes]]:
    t = lstm_tensors()
    return [
        ("m.safetensors", safetensors_file(t)),
        ("m.npz", npz_file(t)),
        ("m.npz", npz_file(t, compressed=True)),
        ("m.json", json_file(t)),
    ]


def _patch_central_directory(data: bytes, offset: int, value: int) -> bytes:
    at = data.index(b"PK\x01\x02") + offset
    return data[:at] + struct.pack("<H", value) + data[at + 2 :]


def corrupt_first_member(npz: bytes) -> bytes:
    """The zip directory intact, the first member's deflate stream overwritten with 0xff."""
    name_len, extra_len = struct.unpack("<HH", npz[26:30])
    start = 30 + name_len + extra_len
    return npz[: start + 2] + b"\xff" * 24 + npz[start + 26 :]


def broken_zips() -> dict[str, bytes]:
    """.npz files the fuzzer found crashing the parser (each once raised a non-store error)."""
    t = lstm_tensors()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo(""), b"x")
    return {
        "corrupt_deflate": corrupt_first_member(npz_file(t, compressed=True)),  # zlib.error
        "future_zip_version": _patch_central_directory(npz_file(t), 6, 0xFF),  # NotImplemented
        "encrypted_member": _patch_central_directory(npz_file(t), 8, 1),  # RuntimeError
        "empty_member_name": buf.getvalue(),  # IndexError
    }
