"""Read an HDF5 file's numeric datasets in a child process with limits (run by app.store.hdf5).

HDF5 is a large C library: a hostile file may make it crash, loop or allocate without end, so it
is only ever opened here, in a process of its own whose address space, CPU time and file writes
are capped before h5py is imported. The file comes on stdin; stdout gets a safetensors blob of
every dataset (named by its path) whose metadata "attrs" holds the string attributes Keras
writes (layer names, model_config, weight_names). Only hard links are followed, each object
once (a cycle ends there); soft and external links, external storage and virtual datasets
(which would read other files on this machine) are refused, as are dynamically loaded filters.

Run as a script (python -I hdf5_child.py AS_BYTES CPU_SECONDS MAX_OBJECTS MAX_DATASETS
MAX_ELEMENTS MAX_BYTES): it imports nothing of Gatescope. Exit 0: the blob; exit 2: a JSON
{"status": 413 | 422, "message": ...} on stdout.
"""

import io
import json
import os
import resource
import sys
from typing import Any

KERAS_ATTRS = ("name", "model_config", "layer_names", "weight_names", "keras_version", "backend")
MAX_ATTR_BYTES = 16 * 1024 * 1024
DTYPES = {"f2": "F16", "f4": "F32", "f8": "F64", "i1": "I8", "i2": "I16", "i4": "I32",
          "i8": "I64", "u1": "U8", "u2": "U16", "u4": "U32", "u8": "U64"}  # fmt: skip


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _limit(as_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file is written
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Reader:
    def __init__(self, max_objects: int, max_datasets: int, max_elements: int, max_bytes: int):
        self.limits = max_objects, max_datasets, max_elements, max_bytes
        self.seen: set[tuple[int, int]] = set()
        self.arrays: dict[str, Any] = {}
        self.attrs: dict[str, dict[str, Any]] = {}
        self.elements = self.bytes = 0

    def walk(self, h5py: Any, group: Any, path: str) -> None:
        max_objects = self.limits[0]
        for name in group:
            where = f"{path}/{name}" if path else name
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                kind = type(link).__name__
                raise Refused(
                    422, f"{where} is a {kind}; only plain (hard-linked) objects are read"
                )
            obj = group[name]
            info = h5py.h5o.get_info(obj.id)
            key = (info.fileno, info.addr)
            if key in self.seen:
                continue  # a second link to an object already read (or a cycle)
            self.seen.add(key)
            if len(self.seen) > max_objects:
                raise Refused(413, f"the HDF5 file holds more than {max_objects} objects")
            self._attrs(h5py, obj, where)
            if isinstance(obj, h5py.Group):
                self.walk(h5py, obj, where)
            elif isinstance(obj, h5py.Dataset):
                self._dataset(obj, where)

    def _attrs(self, h5py: Any, obj: Any, where: str) -> None:
        found = {}
        for key in KERAS_ATTRS:
            if key not in obj.attrs:
                continue
            try:
                size = h5py.h5a.open(obj.id, key.encode()).get_storage_size()
            except RuntimeError:  # HDF5 reports an empty attribute's size as an error
                size = 0
            if size > MAX_ATTR_BYTES:
                raise Refused(413, f"attribute {key} of {where or '/'} has {size} bytes, "
                                   f"the limit is {MAX_ATTR_BYTES}")  # fmt: skip
            value = obj.attrs[key]
            value = value.tolist() if hasattr(value, "tolist") else value
            found[key] = _text(value)
        if found:
            self.attrs[where] = found

    def _dataset(self, dset: Any, where: str) -> None:
        _, max_datasets, max_elements, max_bytes = self.limits
        if dset.external or dset.is_virtual:
            raise Refused(422, f"dataset {where} keeps its data in other files; not read")
        code = DTYPES.get(dset.dtype.str[1:]) if dset.dtype.fields is None else None
        if code is None:
            raise Refused(422, f"dataset {where} holds {dset.dtype}, not plain numbers")
        if len(self.arrays) >= max_datasets:
            raise Refused(413, f"the HDF5 file holds more than {max_datasets} datasets")
        self.elements += dset.size
        self.bytes += dset.size * dset.dtype.itemsize
        if self.elements > max_elements:
            raise Refused(413, f"the HDF5 file holds more than {max_elements} numbers "
                               f"(at dataset {where}, shape {dset.shape})")  # fmt: skip
        if self.bytes > max_bytes:
            raise Refused(413, f"the HDF5 datasets unpack to more than {max_bytes} bytes "
                               f"(at dataset {where}, shape {dset.shape})")  # fmt: skip
        self.arrays[where] = dset[()]


def _text(value: Any) -> Any:
    """Attribute values as JSON: bytes decoded, lists kept, numbers as they are."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [_text(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _safetensors(arrays: dict[str, Any], attrs: dict[str, Any]) -> bytes:
    header: dict[str, Any] = {"__metadata__": {"attrs": json.dumps(attrs)}}
    chunks, offset = [], 0
    for name, arr in arrays.items():
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[arr.dtype.str[1:]], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}  # fmt: skip
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    return len(head).to_bytes(8, "little") + head + b"".join(chunks)


def main(argv: list[str]) -> int:
    as_bytes, cpu, max_objects, max_datasets, max_elements, max_bytes = map(int, argv[1:7])
    _limit(as_bytes, cpu)
    data = sys.stdin.buffer.read()
    try:
        import h5py  # only now, under the limits

        reader = Reader(max_objects, max_datasets, max_elements, max_bytes)
        with h5py.File(io.BytesIO(data), "r") as f:
            reader._attrs(h5py, f, "")
            reader.walk(h5py, f, "")
        blob = _safetensors(reader.arrays, reader.attrs)
    except Refused as exc:
        return _refuse(exc.status, exc.message)
    except MemoryError:
        return _refuse(413, f"reading the HDF5 file needs more than {as_bytes >> 20} MiB")
    except RecursionError:
        return _refuse(422, "the HDF5 file's groups are nested too deeply")
    except Exception as exc:  # h5py's errors for a broken file are many types
        return _refuse(422, f"the HDF5 file cannot be read: {type(exc).__name__}: {exc}")
    sys.stdout.buffer.write(blob)
    sys.stdout.buffer.flush()
    return 0


def _refuse(status: int, message: str) -> int:
    sys.stdout.write(json.dumps({"status": status, "message": message[:2000]}))
    sys.stdout.flush()
    return 2


if __name__ == "__main__":
    os.environ["HDF5_PLUGIN_PRELOAD"] = "::"  # no filter plugin is ever loaded
    sys.exit(main(sys.argv))
