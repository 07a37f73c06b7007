"""Errors of the model store; each carries the HTTP status and code the API answers with."""


class StoreError(Exception):
    """Base class. `field` names the form field or tensor the message is about, if any."""

    status = 400
    code = "store_error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


class ModelNotFound(StoreError):
    status, code = 404, "not_found"


class Forbidden(StoreError):
    status, code = 403, "forbidden"


class UnsupportedFile(StoreError):
    """A file type Gatescope never opens (pickles, HDF5, unknown)."""

    status, code = 415, "unsupported_file"


class InvalidFile(StoreError):
    """A file of a supported type whose content is broken, lying or not a model."""

    status, code = 422, "invalid_file"


class FileTooLarge(StoreError):
    status, code = 413, "limit_exceeded"


class StoreFull(StoreError):
    """The quota (models or bytes) is used up, or the disk is full."""

    status, code = 507, "store_full"


class StoreUnavailable(StoreError):
    """The store's folder cannot be read or written (permissions, a read-only disk)."""

    status, code = 503, "store_unavailable"
