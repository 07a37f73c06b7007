"""Strong ETags for trace answers: a trace is a pure function of the model's weights, the
request and the code that computes it, so the tag hashes exactly those: the app's version,
the stored model's content digest (an upload's id is the hash of its content; a built-in
model's weights are hashed once per loaded copy), the request body as sent (its media type
and bytes, which hold the inputs and every option, the format included) and the answer's
content coding. A changed input, option or weight changes the tag; a deleted model is a 404.
"""

import hashlib
import threading

from app import __version__
from app.api.resolve import Model

_builtin_digests: dict[str, tuple[object, str]] = {}  # id -> (the params object, digest)
_lock = threading.Lock()


def model_digest(model: Model) -> str:
    """The stored model's content digest; "" for random and inline models, whose weights
    follow from the request body alone."""
    info = model.info
    if info is None:
        return ""
    if info.source == "upload":
        return info.id  # content-addressed: the store checks the hash when it loads the file
    with _lock:
        kept = _builtin_digests.get(info.id)
    if kept is not None and kept[0] is model.params:
        return kept[1]
    h = hashlib.blake2b(digest_size=16)
    arrays = dict(model.params)
    if model.readout is not None:
        arrays |= {"readout.weight": model.readout.weight, "readout.bias": model.readout.bias}
    h.update(f"{info.id}\0{info.cell}\0{info.vocab}\0".encode())
    for name in sorted(arrays):
        arr = arrays[name]
        h.update(f"{name}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        h.update(arr.tobytes())
    digest = h.hexdigest()
    with _lock:
        _builtin_digests[info.id] = (model.params, digest)
    return digest


def trace_etag(model: Model, media_type: str, body: bytes, coding: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (__version__, model_digest(model), media_type.split(";")[0].strip().lower()):
        h.update(part.encode() + b"\0")
    h.update(body)
    return f'"{h.hexdigest()}{"-" + coding if coding else ""}"'


def none_match(if_none_match: str, etag: str) -> bool:
    """Whether If-None-Match names this tag (weak comparison, as RFC 9110 says for it)."""
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
