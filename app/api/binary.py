"""Trace requests as a safetensors body: a long sequence arrives as one block of float32 or
float64 numbers instead of tens of thousands of JSON numbers to parse one by one.

POST /api/v1/trace with Content-Type ``application/vnd.safetensors`` (or
``application/octet-stream``): a safetensors file whose tensors are ``inputs`` (steps,
input_size) and optionally ``h0`` and ``c0`` (layers * directions, hidden_size), each F32 or
F64, and whose
``__metadata__`` holds ``request``: the JSON text of the other fields of the JSON request
(model, dtype, fields, format, clamp; or text instead of an inputs tensor). Validation is the
JSON path's, with its error names: a body that is not a safetensors file is a 422
``validation_error`` (as broken JSON is), NaN or infinity a ``validation_error`` naming
``inputs[t][k]``, a wrong width ``shape_mismatch``, a value past the engine's range
``out_of_range``, a sequence past the limits 413 ``limit_exceeded``; the body size limit is
the guards' (413 ``body_too_large``).
"""

import math
from typing import Any, TypeGuard

import numpy as np
import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.api.errors import ApiError
from app.api.limits import check_sequence
from app.api.resolve import Model, sequence, within_range
from app.api.schemas import TraceRequest
from app.config import Settings

BINARY_TYPES = ("application/vnd.safetensors", "application/octet-stream")
MAX_HEADER = 1024 * 1024  # the header holds three tensors' entries and the options
TENSORS = {"inputs": 2, "h0": 2, "c0": 2}  # name -> dimensions
_DTYPES: dict[str, np.dtype[Any]] = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


def is_binary(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in BINARY_TYPES


def _invalid(field: str, message: str, kind: str = "safetensors_invalid") -> RequestValidationError:
    loc = ("body", *_loc(field))
    return RequestValidationError([{"loc": loc, "msg": message, "type": kind}])


def _loc(field: str) -> tuple[str | int, ...]:
    """ "inputs[3][0]" -> ("inputs", 3, 0): the location shape pydantic gives errors."""
    name, _, rest = field.partition("[")
    return (name, *(int(i) for i in rest.rstrip("]").split("][") if i)) if rest else (name,)


def _header(body: bytes) -> tuple[dict[str, Any], int]:
    if len(body) < 8:
        raise _invalid(
            "body", f"a safetensors body starts with an 8-byte header length; got {len(body)} bytes"
        )
    size = int.from_bytes(body[:8], "little")
    if size > min(MAX_HEADER, len(body) - 8):
        raise _invalid(
            "body",
            f"the safetensors header length is {size} bytes, but the body "
            f"holds {len(body) - 8} after it and the limit is {MAX_HEADER}",
        )
    try:
        header = orjson.loads(body[8 : 8 + size])
    except orjson.JSONDecodeError as exc:
        raise _invalid("body", f"the safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _invalid("body", "the safetensors header must be a JSON object")
    return header, 8 + size


def _tensor(name: str, entry: Any, body: bytes, start: int) -> np.ndarray:
    if name not in TENSORS:
        raise _invalid(
            name, f"unknown tensor {name[:64]!r}; expected inputs, h0 or c0", "extra_forbidden"
        )
    if not isinstance(entry, dict):
        raise _invalid(name, "a tensor entry must be an object with dtype, shape, data_offsets")
    name_of_dtype = entry.get("dtype")
    dtype = _DTYPES.get(name_of_dtype) if isinstance(name_of_dtype, str) else None
    if dtype is None:
        shown = str(name_of_dtype)[:16]
        raise _invalid(name, f"{name} is {shown}; it must be F32 or F64", "float_type")
    shape_given, offsets_given = entry.get("shape"), entry.get("data_offsets")
    if not _whole(shape_given) or len(shape_given) != TENSORS[name]:
        raise _invalid(
            name, f"{name} must have {TENSORS[name]} dimensions, got shape {str(shape_given)[:64]}"
        )
    if not _whole(offsets_given) or len(offsets_given) != 2:
        raise _invalid(name, "data_offsets must be two whole numbers")
    shape: list[int] = shape_given
    a, b = offsets_given
    count = math.prod(shape)
    need = count * dtype.itemsize
    if b - a != need or start + b > len(body):
        raise _invalid(
            name,
            f"{name} of shape {shape} in {name_of_dtype} needs {need} bytes; "
            f"data_offsets [{a}, {b}] do not give them within the body",
        )
    arr = np.frombuffer(body, dtype, count=count, offset=start + a).reshape(shape)
    out: np.ndarray = arr.astype(np.float64)  # one aligned, writable copy, the engine's dtype
    return out


def _whole(value: Any) -> TypeGuard[list[int]]:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**53 for v in value
    )


def _finite(name: str, arr: np.ndarray) -> None:
    if arr.size and not np.isfinite(arr).all():
        where = "".join(f"[{int(i)}]" for i in np.argwhere(~np.isfinite(arr))[0])
        raise _invalid(f"{name}{where}", "Input should be a finite number", "finite_number")


def read_trace_request(body: bytes) -> tuple[TraceRequest, dict[str, np.ndarray]]:
    """The request's options (validated as a TraceRequest) and its tensors, checked finite;
    shapes against the model and the limits are checked once the model is known."""
    header, start = _header(body)
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not isinstance(meta.get("request", "{}"), str):
        raise _invalid("body", "__metadata__.request must be the options' JSON text")
    try:
        options = orjson.loads(meta.get("request", "{}"))
    except orjson.JSONDecodeError as exc:
        raise _invalid("body", f"__metadata__.request is not valid JSON ({exc})") from None
    if not isinstance(options, dict):
        raise _invalid("body", "__metadata__.request must be a JSON object")
    for name in TENSORS:
        if name in options:
            raise _invalid(
                name,
                f"{name} is sent as a tensor of the body, not in the options",
                "extra_forbidden",
            )
    arrays = {name: _tensor(name, entry, body, start) for name, entry in header.items()}
    for name, arr in arrays.items():
        _finite(name, arr)
    if ("inputs" in arrays) == ("text" in options):
        raise _invalid(
            "body", "give either an inputs tensor (one vector per step) or text, not both"
        )
    if "inputs" in arrays and arrays["inputs"].shape[0] == 0:
        raise _invalid("inputs", "inputs has no steps", "too_short")
    try:  # a one-number stand-in for the inputs tensor: only the options are checked here
        request = TraceRequest.model_validate(
            options if "text" in options else {**options, "inputs": [[0.0]]}
        )
    except ValidationError as exc:
        errs = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errs) from None
    return request, arrays


def checked(arr: np.ndarray, field: str, width: int) -> np.ndarray:
    """A (rows, width) tensor within the engine's range, or the JSON path's 422."""
    if arr.shape[1] != width:
        raise ApiError(
            422,
            "shape_mismatch",
            f"{field} has {arr.shape[1]} numbers a row, expected {width}",
            field,
        )
    return within_range(arr, field)


def binary_inputs(
    model: Model, arrays: dict[str, np.ndarray], text: str | None, settings: Settings
) -> tuple[np.ndarray, list[str] | None, np.ndarray | None, np.ndarray | None]:
    """(x, tokens, h0, c0) from a binary request's tensors, checked as the JSON path checks
    its lists: the sequence against the limits and the model's input size, the states
    against its hidden size and layers."""
    sizes = (model.input_size, model.hidden_size, model.stacks)
    if "inputs" in arrays:
        check_sequence(settings, arrays["inputs"].shape[0], *sizes)
        x, tokens = checked(arrays["inputs"], "inputs", model.input_size), None
    else:
        x, tokens = sequence(model, None, text, settings)
    h0, c0 = (arrays.get(name) for name in ("h0", "c0"))
    per = "per layer" if model.num_directions == 1 else "per layer and direction"
    for name, arr in (("h0", h0), ("c0", c0)):
        if arr is not None:
            checked(arr, name, model.h_size if name == "h0" else model.hidden_size)
            if arr.shape[0] != model.stacks:
                raise ApiError(
                    422,
                    "shape_mismatch",
                    f"{name} has {arr.shape[0]} rows, expected one {per} ({model.stacks})",
                    name,
                )
    return x, tokens, h0, c0
