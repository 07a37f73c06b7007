"""Read an uploaded weight file into named NumPy arrays, checking it before anything is loaded.

Accepted: ``.safetensors`` (the header's sizes and offsets are checked against the file before
the safetensors library reads it), ``.npz`` (each member's .npy header is checked against its
size, object arrays are refused, nothing is unpickled) and ``.json`` (``{name: nested lists}``).
Keras 3 ``.keras`` and ``.weights.h5`` files are read by app.store.keras_files (HDF5 only ever
in a child process with limits). Pickles (.pt, .pth, .pkl, ...) are refused without being opened.
"""

import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import orjson
import safetensors

from app.store.errors import FileTooLarge, InvalidFile, StoreError, UnsupportedFile
from app.store.hdf5 import ChildLimits
from app.store.keras_files import KerasFile, read_keras

TORCH_HINT = (
    "Gatescope never loads pickles. Export the state_dict to safetensors and upload that:\n"
    "    from safetensors.torch import save_file\n"
    '    save_file(model.state_dict(), "model.safetensors")'
)
KERAS_HINT = (
    'Gatescope reads Keras 3 files: save the whole model with model.save("m.keras") (or '
    'its weights with model.save_weights("m.weights.h5")) and upload that file'
)
PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib", ".tar"})
HDF5_SUFFIXES = frozenset({".h5", ".hdf5", ".keras"})
SUFFIXES = (".safetensors", ".npz", ".json", ".keras", ".weights.h5")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

_SAFETENSORS_DTYPES: dict[str, Any] = {
    "BF16": np.uint16,  # decoded by _bfloat16: NumPy has no bfloat16
    "F16": np.float16, "F32": np.float32, "F64": np.float64,
    "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
    "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64, "BOOL": np.bool_,
}  # fmt: skip
_MAX_SAFETENSORS_HEADER = 16 * 1024 * 1024
_MAX_NAME = 256


@dataclass(frozen=True)
class FileLimits:
    """How much one file may hold: tensors, numbers (elements) and unpacked bytes."""

    max_tensors: int = 1024
    max_elements: int = 64 * 1024 * 1024
    max_unpacked_bytes: int = 256 * 1024 * 1024


def read_tensors(filename: str, data: bytes, limits: FileLimits) -> dict[str, np.ndarray]:
    """Named arrays from an upload; UnsupportedFile (415), InvalidFile (422) or FileTooLarge."""
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix in PICKLE_SUFFIXES or _looks_like_pickle(data):
        raise UnsupportedFile(f"{filename!r} is a pickle (a PyTorch {suffix or '.pt'} file?). "
                              f"{TORCH_HINT}", "file")  # fmt: skip
    if suffix in HDF5_SUFFIXES or data.startswith(HDF5_MAGIC):
        return read_keras_upload(filename, data, limits).tensors
    if suffix == ".safetensors":
        return _safetensors(data, limits)
    if suffix == ".npz":
        return _npz(data, limits)
    if suffix == ".json":
        return _json(data, limits)
    raise UnsupportedFile(
        f"{filename!r} has the type {suffix or '(none)'}; upload {', '.join(SUFFIXES)} "
        "weights or an .onnx model",
        "file",
    )


def read_keras_upload(
    filename: str, data: bytes, limits: FileLimits, child: ChildLimits | None = None
) -> KerasFile:
    """A Keras 3 .keras zip or .weights.h5 (HDF5 read in a child process with limits)."""
    zipped = data[:4] == b"PK\x03\x04"
    if not zipped and not data.startswith(HDF5_MAGIC):
        what = "a zip (.keras)" if filename.lower().endswith(".keras") else "HDF5"
        raise InvalidFile(f"{filename!r} is not {what}: {KERAS_HINT}", "file")
    return read_keras(data, limits, child or ChildLimits(), zipped)


def is_keras_upload(filename: str, data: bytes) -> bool:
    """A .keras / .h5 name or HDF5 bytes: read by read_keras_upload."""
    suffix = PurePosixPath(filename.lower()).suffix
    return suffix in HDF5_SUFFIXES or data.startswith(HDF5_MAGIC)


def _looks_like_pickle(data: bytes) -> bool:
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        # pickle protocol 2-5, unless a safetensors header length such as 640 (80 02 00 ...):
        # no pickle opcode is a zero byte
        return data[2:3] != b"\x00"
    if data[:4] == b"PK\x03\x04":  # torch.save's zip format holds <name>/data.pkl
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except Exception:  # a broken archive is not a pickle; the .npz reader says what is wrong
            return False
        return any(n.endswith(".pkl") for n in names)
    return False


def _count(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
        raise InvalidFile(f"tensor name {str(name)[:40]!r} must be 1 to {_MAX_NAME} characters")
    return name


def _safetensors(data: bytes, limits: FileLimits) -> dict[str, np.ndarray]:
    return safetensors_tensors(data, limits)[0]


def safetensors_tensors(
    data: bytes, limits: FileLimits
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """A safetensors blob's arrays (checked against the limits) and its string metadata."""
    if len(data) < 8:
        raise InvalidFile(f"the file is {len(data)} bytes, too short for a safetensors header")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8 or size > _MAX_SAFETENSORS_HEADER:
        raise InvalidFile(
            f"the safetensors header claims {size} bytes, but the file has only "
            f"{len(data) - 8} bytes after the length (and headers may be at most "
            f"{_MAX_SAFETENSORS_HEADER})"
        )
    try:
        header = orjson.loads(data[8 : 8 + size])
    except orjson.JSONDecodeError as exc:
        raise InvalidFile(f"the safetensors header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise InvalidFile("the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    metadata = metadata if isinstance(metadata, dict) else {}
    if len(header) > limits.max_tensors:
        raise FileTooLarge(
            f"the file holds {len(header)} tensors, the limit is {limits.max_tensors}"
        )
    spans: list[tuple[int, int, str]] = []
    elements = 0
    for name, info in header.items():
        _check_name(name)
        begin, end, count = _safetensors_entry(name, info)
        elements += count
        spans.append((begin, end, name))
    if elements > limits.max_elements:
        raise FileTooLarge(f"the file holds {elements} numbers, the limit is {limits.max_elements}")
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise InvalidFile(f"tensor {name}'s data starts at byte {begin}, expected {position}")
        position = end
    if position != len(data) - 8 - size:
        raise InvalidFile(
            f"the tensors cover {position} bytes but the file holds {len(data) - 8 - size} "
            "bytes of data (truncated or padded)"
        )
    try:
        entries = safetensors.deserialize(data)  # type: ignore[no-untyped-call]
    except Exception as exc:  # the library's own errors are not a public type
        raise InvalidFile(f"the safetensors library cannot read the file: {exc}") from exc
    tensors = {}
    for name, entry in entries:
        raw = np.frombuffer(
            entry["data"], np.dtype(_SAFETENSORS_DTYPES[entry["dtype"]]).newbyteorder("<")
        )
        raw = _bfloat16(raw) if entry["dtype"] == "BF16" else raw
        tensors[name] = raw.reshape(entry["shape"])
    ordered = {name: tensors[name] for name in header}  # the file's order, not the library's
    return ordered, {str(k): str(v) for k, v in metadata.items()}


def _bfloat16(bits: np.ndarray) -> np.ndarray:
    """bfloat16 is the top half of a float32: shifting its 16 bits up gives the same number."""
    return (bits.astype("<u4") << 16).view("<f4")


def _safetensors_entry(name: str, info: Any) -> tuple[int, int, int]:
    if not isinstance(info, dict):
        raise InvalidFile(f"tensor {name}: its header entry is not an object")
    dtype = info.get("dtype")
    if dtype not in _SAFETENSORS_DTYPES:
        hint = "; save it as float32 (tensor.float())" if dtype in ("F8_E4M3", "F8_E5M2") else ""
        raise InvalidFile(f"tensor {name} has dtype {dtype!r}, which is not supported{hint}")
    shape: Any = info.get("shape")
    offsets: Any = info.get("data_offsets")
    if not _ints(shape) or not _ints(offsets) or len(offsets) != 2:
        raise InvalidFile(f"tensor {name}: shape and data_offsets must be lists of whole numbers")
    begin, end = offsets
    count = _count(tuple(shape))
    need = count * np.dtype(_SAFETENSORS_DTYPES[dtype]).itemsize
    if end - begin != need:
        raise InvalidFile(
            f"tensor {name}: shape {tuple(shape)} of {dtype} needs {need} bytes but its "
            f"data_offsets span {end - begin}"
        )
    return begin, end, count


def _ints(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    )


def _npz(data: bytes, limits: FileLimits) -> dict[str, np.ndarray]:
    try:
        return _npz_members(data, limits)
    except StoreError:
        raise
    except Exception as exc:  # zipfile raises many types on hostile archives; all are 422s
        raise InvalidFile(f"the .npz file cannot be read: {type(exc).__name__}: {exc}") from exc


def _npz_members(data: bytes, limits: FileLimits) -> dict[str, np.ndarray]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    infos = archive.infolist()
    if len(infos) > limits.max_tensors:
        raise FileTooLarge(f"the file holds {len(infos)} arrays, the limit is {limits.max_tensors}")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise FileTooLarge(
            f"the .npz unpacks to {unpacked} bytes, the limit is {limits.max_unpacked_bytes}"
        )
    tensors: dict[str, np.ndarray] = {}
    elements = 0
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise InvalidFile(f"{info.filename!r} in the .npz is not a .npy array")
        if info.flag_bits & 0x1:
            raise InvalidFile(f"{info.filename!r} in the .npz is encrypted")
        name = _check_name(info.filename[: -len(".npy")])
        tensors[name] = _npy_member(archive, info, name)
        elements += tensors[name].size
        if elements > limits.max_elements:
            raise FileTooLarge(f"the file holds more than {limits.max_elements} numbers")
    return tensors


def _npy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> np.ndarray:
    fmt = np.lib.format
    with archive.open(info) as fp:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise InvalidFile(f"array {name} uses .npy format {version}; save with NumPy's default")
        header_end = fp.tell()
    if dtype.kind in "bc":
        what = "booleans" if dtype.kind == "b" else "complex numbers"
        raise InvalidFile(f"array {name} holds {what} ({dtype}); weights must be real numbers")
    if dtype.hasobject:
        raise UnsupportedFile(
            f"array {name} holds Python objects, which only unpickling could read; Gatescope "
            "never unpickles. Save plain numbers, e.g. np.savez(path, w=w.astype(np.float32))",
            "file",
        )
    need = _count(tuple(shape)) * dtype.itemsize
    if header_end + need != info.file_size:
        raise InvalidFile(
            f"array {name}: its header says shape {tuple(shape)} of {dtype} ({need} bytes) "
            f"but it holds {info.file_size - header_end} bytes"
        )
    with archive.open(info) as fp:
        arr: np.ndarray = fmt.read_array(fp, allow_pickle=False)
    return arr


def _json(data: bytes, limits: FileLimits) -> dict[str, np.ndarray]:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidFile(f"the .json file is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict) or not obj:
        raise InvalidFile('the .json file must be an object {"tensor name": [[numbers]], ...}')
    if len(obj) > limits.max_tensors:
        raise FileTooLarge(f"the file holds {len(obj)} tensors, the limit is {limits.max_tensors}")
    return {_check_name(name): json_tensor(name, value) for name, value in obj.items()}


def json_tensor(name: str, value: Any) -> np.ndarray:
    """Nested lists of numbers (no booleans, strings or nulls, rectangular) -> float64 array."""
    rows = [value]
    while rows and isinstance(rows[0], list):
        width = len(rows[0])
        for k, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != width:
                raise InvalidFile(f"tensor {name} is ragged: rows of different lengths at row {k}")
        rows = [item for row in rows for item in row]
    for item in rows:
        if type(item) is not float and type(item) is not int:
            raise InvalidFile(f"tensor {name} holds {str(item)[:20]!r}; only numbers are allowed")
    try:
        arr = np.array(value, dtype=np.float64)
    except (ValueError, OverflowError) as exc:
        raise InvalidFile(f"tensor {name} is not an array of numbers: {exc}") from exc
    return arr
