"""Keras 3 files: a .keras zip (config.json, metadata.json, model.weights.h5) or a lone
.weights.h5, read as plain arrays (HDF5 in a child process, app.store.hdf5) and parsed JSON."""

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from app.store.errors import FileTooLarge, InvalidFile, StoreError
from app.store.hdf5 import ChildLimits, read_hdf5

_MAX_CONFIG = 8 * 1024 * 1024
_MAX_MEMBERS = 256


@dataclass
class KerasFile:
    """config: the model config (None for a .weights.h5); tensors by HDF5 path; attrs."""

    config: Any
    tensors: dict[str, np.ndarray]
    attrs: dict[str, dict[str, Any]]
    legacy: bool = False  # a Keras 2 style .h5 full model (model_config, model_weights)


def read_keras(data: bytes, limits: Any, child: ChildLimits, zipped: bool) -> KerasFile:
    """A .keras zip (zipped) or a .weights.h5; InvalidFile / FileTooLarge / UnsupportedFile."""
    config = None
    if zipped:
        try:
            config, data = _unzip(data, limits.max_unpacked_bytes)
        except StoreError:
            raise
        except Exception as exc:  # zipfile raises many types on hostile archives
            raise InvalidFile(f"the .keras file cannot be read: {type(exc).__name__}: {exc}",
                              "file") from exc  # fmt: skip
    content = read_hdf5(
        data, limits.max_tensors, limits.max_elements, limits.max_unpacked_bytes, child
    )
    legacy = content.attrs.get("", {}).get("model_config")
    if config is None and legacy is not None:
        try:
            return KerasFile(orjson.loads(str(legacy)), content.tensors, content.attrs, True)
        except orjson.JSONDecodeError as exc:
            raise InvalidFile(f"the .h5 file's model_config is not JSON: {exc}", "file") from exc
    return KerasFile(config, content.tensors, content.attrs)


def _unzip(data: bytes, max_bytes: int) -> tuple[Any, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    infos = {info.filename: info for info in archive.infolist()}
    if len(infos) > _MAX_MEMBERS:
        raise FileTooLarge(f"the .keras file holds {len(infos)} members, the limit is "
                           f"{_MAX_MEMBERS}", "file")  # fmt: skip
    for need in ("config.json", "model.weights.h5"):
        if need not in infos:
            raise InvalidFile(f"the .keras file has no {need} (members: "
                              f"{', '.join(list(infos)[:8])})", "file")  # fmt: skip
    for name, limit in (("config.json", _MAX_CONFIG), ("model.weights.h5", max_bytes)):
        size = infos[name].file_size
        if size > limit:
            raise FileTooLarge(f"{name} in the .keras file unpacks to {size} bytes, the limit "
                               f"is {limit}", "file")  # fmt: skip
    raw = archive.read(infos["config.json"])  # zipfile stops at the declared size
    try:
        config = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidFile(f"config.json in the .keras file is not JSON: {exc}", "file") from exc
    return config, archive.read(infos["model.weights.h5"])
