"""Where models live: uploads in the data folder (written atomically), built-ins beside them."""

from app.store.errors import (
    FileTooLarge,
    Forbidden,
    InvalidFile,
    ModelNotFound,
    StoreError,
    StoreFull,
    StoreUnavailable,
    UnsupportedFile,
)
from app.store.records import ModelInfo, StoredModel
from app.store.store import DamagedModel, ModelStore
from app.store.uploads import FileLimits, read_tensors

__all__ = [
    "DamagedModel",
    "FileLimits",
    "FileTooLarge",
    "Forbidden",
    "InvalidFile",
    "ModelInfo",
    "ModelNotFound",
    "ModelStore",
    "StoreError",
    "StoreFull",
    "StoreUnavailable",
    "StoredModel",
    "UnsupportedFile",
    "read_tensors",
]
