"""The model store: uploaded models in the data folder, built-in models beside them (read-only).

One uploaded model is one file, ``<data_dir>/models/<id>.safetensors``: the weights in the
engine's layout plus a ``__metadata__`` entry holding the description and the SHA-256 of the
delete token (never the token). Files are written with app.store.atomic, so after any crash
the folder holds complete models only. Every worker process has its own ModelStore; they
share nothing but the folder, so lookups check the file (a stat) before trusting a cache.
"""

import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import safetensors
import safetensors.numpy

from app.engine import Readout
from app.store import atomic
from app.store.errors import Forbidden, ModelNotFound, StoreError, StoreFull, StoreUnavailable
from app.store.records import (
    UPLOAD_ID,
    ModelInfo,
    StoredModel,
    content_id,
    model_tensors,
    split_tensors,
)

log = logging.getLogger("gatescope.store")
SUFFIX = ".safetensors"
META_KEY = "gatescope"
TOKEN_KEY = "_delete_token_sha256"
BuiltinLoader = Callable[[], Iterable[StoredModel]]


class DamagedModel(StoreError):
    """A stored file that no longer reads back (changed on disk by someone else)."""

    status, code = 500, "damaged_model"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ModelStore:
    def __init__(
        self,
        data_dir: Path,
        *,
        builtins: BuiltinLoader | None = None,
        max_models: int = 1000,
        max_bytes: int = 4 * 1024**3,
        cache_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.folder = Path(data_dir) / "models"
        self.max_models, self.max_bytes, self.cache_bytes = max_models, max_bytes, cache_bytes
        self._builtin_loader = builtins
        self._builtins: dict[str, StoredModel] | None = None
        self._lock = threading.RLock()
        self._infos: dict[str, tuple[tuple[int, int], ModelInfo, str | None]] = {}
        self._cache: OrderedDict[str, tuple[tuple[int, int], StoredModel]] = OrderedDict()
        self._opened = False

    # -- setup -------------------------------------------------------------------------------
    def open(self) -> None:
        """Create the folder and sweep temporaries of killed writers (idempotent)."""
        with self._lock:
            if self._opened:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            swept = atomic.sweep_temporaries(self.folder, older_than_s=60.0)
            if swept:
                log.warning("removed %d unfinished upload file(s) in %s", swept, self.folder)
            self._opened = True

    def builtins(self) -> dict[str, StoredModel]:
        with self._lock:
            if self._builtins is None:
                loaded = list(self._builtin_loader()) if self._builtin_loader else []
                self._builtins = {m.info.id: m for m in loaded}
            return self._builtins

    def status(self) -> dict[str, Any]:
        """For /readyz: raises OSError when the folder cannot be written."""
        self.open()
        if not os.access(self.folder, os.W_OK):
            raise PermissionError(f"{self.folder} is not writable")
        files = self._files()
        return {
            "builtin": len(self.builtins()),
            "uploaded": len(files),
            "bytes": sum(size for _, size in files.values()),
        }

    # -- reading -----------------------------------------------------------------------------
    def _files(self) -> dict[str, tuple[int, int]]:
        """Uploaded model id -> (mtime_ns, size) of its file."""
        self.open()
        found: dict[str, tuple[int, int]] = {}
        for entry in os.scandir(self.folder):
            stem = entry.name[: -len(SUFFIX)]
            if entry.name.endswith(SUFFIX) and UPLOAD_ID.fullmatch(stem):
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                found[stem] = (st.st_mtime_ns, st.st_size)
        return found

    def _path(self, model_id: str) -> Path:
        return self.folder / f"{model_id}{SUFFIX}"

    def _stamp(self, model_id: str) -> tuple[int, int]:
        if not UPLOAD_ID.fullmatch(model_id):
            raise ModelNotFound(f"no model with id {model_id[:80]!r}", "id")
        self.open()
        try:
            st = self._path(model_id).stat()
        except FileNotFoundError:
            raise ModelNotFound(f"no model with id {model_id!r}", "id") from None
        return st.st_mtime_ns, st.st_size

    def _read_info(self, model_id: str, stamp: tuple[int, int]) -> tuple[ModelInfo, str | None]:
        with self._lock:
            cached = self._infos.get(model_id)
            if cached and cached[0] == stamp:
                return cached[1], cached[2]
        try:
            with safetensors.safe_open(str(self._path(model_id)), framework="numpy") as f:
                meta = f.metadata() or {}
            data = orjson.loads(meta[META_KEY])
        except FileNotFoundError:
            raise ModelNotFound(f"no model with id {model_id!r}", "id") from None
        except Exception as exc:
            log.error("stored model %s cannot be read: %s", model_id, exc)
            raise DamagedModel(f"model {model_id} is damaged on disk; tell the operator") from exc
        token = data.pop(TOKEN_KEY, None)
        info = ModelInfo.from_dict({**data, "id": model_id, "bytes": stamp[1]})
        with self._lock:
            self._infos[model_id] = (stamp, info, token)
        return info, token

    def list(self) -> list[ModelInfo]:
        """Built-in models first (in their order), then uploads, oldest first."""
        uploads = []
        for model_id, stamp in self._files().items():
            try:
                uploads.append(self._read_info(model_id, stamp)[0])
            except StoreError:
                continue  # deleted meanwhile, or damaged (logged)
        uploads.sort(key=lambda i: (i.created or "", i.id))
        return [m.info for m in self.builtins().values()] + uploads

    def info(self, model_id: str) -> ModelInfo:
        builtin = self.builtins().get(model_id)
        if builtin is not None:
            return builtin.info
        return self._read_info(model_id, self._stamp(model_id))[0]

    def get(self, model_id: str) -> StoredModel:
        """The model's weights (cached, least recently used models leave first)."""
        builtin = self.builtins().get(model_id)
        if builtin is not None:
            return builtin
        stamp = self._stamp(model_id)
        with self._lock:
            cached = self._cache.get(model_id)
            if cached and cached[0] == stamp:
                self._cache.move_to_end(model_id)
                return cached[1]
        info, _ = self._read_info(model_id, stamp)
        try:
            tensors = safetensors.numpy.load_file(str(self._path(model_id)))
        except FileNotFoundError:
            raise ModelNotFound(f"no model with id {model_id!r}", "id") from None
        except Exception as exc:
            raise DamagedModel(f"model {model_id} is damaged on disk; tell the operator") from exc
        if content_id(info.cell, info.vocab, tensors) != model_id:
            log.error("stored model %s does not match its content hash", model_id)
            raise DamagedModel(f"model {model_id} is damaged on disk; tell the operator")
        params, readout = split_tensors(tensors)
        model = StoredModel(info, params, readout)
        with self._lock:
            self._cache[model_id] = (stamp, model)
            total = sum(m.nbytes for _, m in self._cache.values())
            while total > self.cache_bytes and len(self._cache) > 1:
                _, (_, old) = self._cache.popitem(last=False)
                total -= old.nbytes
        return model

    def weights_file(self, model_id: str) -> bytes:
        """The model as a safetensors file (engine layout, readout.*), without secrets."""
        model = self.get(model_id)
        tensors = model_tensors(model.params, model.readout)
        meta = orjson.dumps(model.info.public()).decode()
        return bytes(safetensors.numpy.save(tensors, metadata={META_KEY: meta}))

    # -- writing -----------------------------------------------------------------------------
    def add(
        self,
        params: Mapping[str, np.ndarray],
        readout: Readout | None,
        fields: Mapping[str, Any],
    ) -> tuple[ModelInfo, str | None]:
        """Store an upload. Returns its info and a new delete token, or None for the token when
        the same model (same content id) was stored already: the first upload keeps its own.
        A folder that cannot be written is StoreUnavailable (503), a full disk StoreFull."""
        try:
            return self._add(params, readout, fields)
        except OSError as exc:
            if exc.errno in (28, 122):  # ENOSPC, EDQUOT
                raise StoreFull("the disk is full; the upload was not stored", "file") from exc
            log.error("the model store cannot be written: %s", exc)
            raise StoreUnavailable(
                f"the model store cannot be written ({exc.strerror or exc}); the upload was not "
                "stored (see /readyz)"
            ) from exc

    def _add(
        self,
        params: Mapping[str, np.ndarray],
        readout: Readout | None,
        fields: Mapping[str, Any],
    ) -> tuple[ModelInfo, str | None]:
        cell, vocab = fields["cell"], fields.get("vocab")
        tensors = model_tensors(params, readout)
        model_id = content_id(cell, vocab, tensors)
        try:
            return self.info(model_id), None
        except ModelNotFound:
            pass
        token = secrets.token_urlsafe(24)
        data = {
            **fields,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": "upload",
            TOKEN_KEY: _token_hash(token),
        }
        blob = safetensors.numpy.save(tensors, metadata={META_KEY: orjson.dumps(data).decode()})
        self._check_quota(len(blob))
        created = atomic.write_new(self._path(model_id), bytes(blob))
        info = self.info(model_id)
        return info, token if created else None

    def _check_quota(self, new_bytes: int) -> None:
        files = self._files()
        used = sum(size for _, size in files.values()) + new_bytes
        if len(files) >= self.max_models:
            raise StoreFull(
                f"the store holds {len(files)} uploaded models, the limit is {self.max_models} "
                "(max_stored_models)",
                "file",
            )
        if used > self.max_bytes:
            raise StoreFull(
                f"with this model the store would hold {used} bytes, the limit is "
                f"{self.max_bytes} (max_store_bytes)",
                "file",
            )

    def delete(self, model_id: str, token: str | None) -> None:
        if model_id in self.builtins():
            raise Forbidden(f"{model_id} is a built-in model and cannot be deleted", "id")
        _, expected = self._read_info(model_id, self._stamp(model_id))
        if not token:
            raise Forbidden(
                "deleting a model needs the delete_token given at upload, in the "
                "X-Delete-Token header",
                "X-Delete-Token",
            )
        if expected is None or not hmac.compare_digest(_token_hash(token), expected):
            raise Forbidden(f"the delete token does not match model {model_id}", "X-Delete-Token")
        atomic.remove(self._path(model_id))
        with self._lock:
            self._cache.pop(model_id, None)
            self._infos.pop(model_id, None)
