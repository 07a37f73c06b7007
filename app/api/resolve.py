"""From a request to engine arguments: the model a reference names, the input sequence (numbers
or text), initial states and clamps; every size is checked against the settings first."""

from collections.abc import Mapping, Sequence, Sized
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.api.errors import ApiError
from app.api.limits import (
    check_model_size,
    check_parameters,
    check_sequence,
    check_vocab,
    check_weight_values,
    parameter_count,
)
from app.api.schemas import ClampSpec, InlineModelRef, ModelRef, RandomModelRef, StoredModelRef
from app.config import Settings
from app.engine import (
    Clamp,
    EngineError,
    Readout,
    convert_keras,
    convert_torch,
    init_params,
    model_sizes,
)
from app.engine.checks import MAX_ABS_VALUE
from app.engine.clamps import compile_clamps
from app.engine.params import num_directions, proj_size
from app.engine.weight_cache import PreparedParams
from app.store import ModelInfo, ModelStore

_CACHED_PARAMS = 4 * 1024 * 1024  # random models up to this many numbers are kept for reuse


@dataclass(frozen=True)
class Model:
    """A model ready for the engine: weights in PyTorch layout, sizes, readout, vocabulary."""

    cell: str
    params: Mapping[str, np.ndarray]
    input_size: int
    hidden_size: int
    num_layers: int
    readout: Readout | None = None
    vocab: list[str] | None = None
    info: ModelInfo | None = None

    @property
    def num_directions(self) -> int:
        return num_directions(self.params)

    @property
    def proj_size(self) -> int:
        """P of an LSTM with a projection (torch's proj_size), else 0."""
        return proj_size(self.params)

    @property
    def h_size(self) -> int:
        """The units of h, h0 and h_n: proj_size when there is one, else hidden_size."""
        return self.proj_size or self.hidden_size

    @property
    def stacks(self) -> int:
        """Layer-directions the engine runs: what the compute budget counts."""
        return self.num_layers * self.num_directions


@lru_cache(maxsize=16)
def _random_params(
    cell: str, input_size: int, hidden_size: int, layers: int, seed: int, directions: int = 1
) -> Mapping[str, np.ndarray]:
    params = PreparedParams(init_params(cell, input_size, hidden_size, layers, seed, directions))
    for arr in params.values():
        arr.flags.writeable = False  # shared between requests
    return params


def precheck(ref: ModelRef, inputs: Sized | None, text: str | None, settings: Settings) -> None:
    """Sizes of a random model and its sequence, before any weights are made: a request over
    the compute budget is refused as that (413), not for what its weights would take."""
    if not isinstance(ref, RandomModelRef):
        return
    sizes = (ref.input_size, ref.hidden_size, ref.num_layers * (1 + ref.bidirectional))
    check_model_size(settings, ref.input_size, ref.hidden_size, ref.num_layers)
    if inputs is not None:
        check_sequence(settings, len(inputs), *sizes)
    elif text is not None and ref.vocab:
        check_sequence(settings, min_steps(text, ref.vocab), *sizes, field="text")


def resolve_model(ref: ModelRef, settings: Settings, store: ModelStore) -> Model:
    """Raises ApiError / StoreError / EngineError (all answered as JSON errors)."""
    if isinstance(ref, StoredModelRef):
        stored = store.get(ref.id)
        i = stored.info
        return Model(i.cell, stored.params, i.input_size, i.hidden_size, i.num_layers,
                      stored.readout, i.vocab, i)  # fmt: skip
    if isinstance(ref, RandomModelRef):
        return _random(ref, settings)
    return _inline(ref, settings)


def _random(ref: RandomModelRef, settings: Settings) -> Model:
    check_model_size(settings, ref.input_size, ref.hidden_size, ref.num_layers)
    directions = 2 if ref.bidirectional else 1
    sizes = (ref.input_size, ref.hidden_size, ref.num_layers)
    count = parameter_count(ref.cell, *sizes, directions)
    check_parameters(settings, "model", count)
    _check_vocab_fits(settings, ref.vocab, ref.input_size, "model.vocab")
    key = (ref.cell, ref.input_size, ref.hidden_size, ref.num_layers, ref.seed, directions)
    params = _random_params(*key) if count <= _CACHED_PARAMS else init_params(*key)
    return Model(ref.cell, params, ref.input_size, ref.hidden_size, ref.num_layers,
                 vocab=ref.vocab)  # fmt: skip


def _inline(ref: InlineModelRef, settings: Settings) -> Model:
    count = sum(len(v) * (len(v[0]) if v and isinstance(v[0], list) else 1)
                for v in ref.weights.values())  # fmt: skip
    check_parameters(settings, "model.weights", count)
    arrays = {name: _tensor(name, value) for name, value in ref.weights.items()}
    for name, arr in arrays.items():
        check_weight_values(f"model.weights.{name}", arr)
    convert = convert_keras if ref.layout == "keras" else convert_torch
    vocab_size = None if ref.vocab is None else len(ref.vocab)
    try:
        converted = convert(ref.cell, arrays, ref.prefix, vocab_size)
    except EngineError as exc:
        field = {"prefix": "model.prefix", "vocab": "model.vocab"}.get(exc.field or "")
        raise ApiError(422, "invalid_input", str(exc), field or "model.weights") from exc
    params, readout, folded = converted.params, converted.readout, converted.folded
    model = model_from_params(ref.cell, params, readout, ref.vocab, settings, folded=folded)
    for name, given, actual in (
        ("input_size", ref.input_size, model.input_size),
        ("hidden_size", ref.hidden_size, model.hidden_size),
        ("num_layers", ref.num_layers, model.num_layers),
    ):
        if given is not None and given != actual:
            why = _folded(folded) if name == "input_size" else ""
            raise ApiError(
                422,
                "shape_mismatch",
                f"model.{name} is {given} but the weights give {actual}{why}",
                f"model.{name}",
            )
    return model


def model_from_params(
    cell: str,
    params: Mapping[str, np.ndarray],
    readout: Readout | None,
    vocab: list[str] | None,
    settings: Settings,
    upload: bool = False,
    folded: str | None = None,
) -> Model:
    """Sizes from the weights (LayoutError when they do not fit), checked against the limits.
    Errors name the request's model.* fields, or for an upload its `file` and `vocab`;
    `folded` names an embedding folded into the first layer (one input per token)."""
    input_size, hidden_size, num_layers = model_sizes(cell, params)
    file = "file" if upload else None
    check_model_size(settings, input_size, hidden_size, num_layers, file, _folded(folded))
    _check_vocab_fits(settings, vocab, input_size, "vocab" if upload else "model.vocab")
    return Model(cell, params, input_size, hidden_size, num_layers, readout, vocab)


def _folded(embedding: str | None) -> str:
    """Why the input size is the vocabulary's: the words for a message, or nothing."""
    return f" (one input per token: {embedding} is folded in)" if embedding else ""


def _check_vocab_fits(
    settings: Settings, vocab: list[str] | None, input_size: int, field: str
) -> None:
    if vocab is None:
        return
    check_vocab(settings, field, vocab)
    if len(vocab) != input_size:
        raise ApiError(
            422,
            "shape_mismatch",
            f"{field} has {len(vocab)} tokens but input_size is {input_size}; each token is "
            "one input (one-hot), or one row of an embedding (V x input_size, no bias) in the "
            "weights",
            field,
        )


def _tensor(name: str, value: list[float] | list[list[float]]) -> np.ndarray:
    if value and isinstance(value[0], list):
        width = len(value[0])
        for k, row in enumerate(value):
            if not isinstance(row, list) or len(row) != width:
                raise ApiError(
                    422,
                    "shape_mismatch",
                    f"model.weights.{name}[{k}] has a different length than row 0 ({width})",
                    f"model.weights.{name}[{k}]",
                )
    return np.asarray(value, dtype=np.float64)


def splits_words(vocab: Sequence[str]) -> bool:
    """A word vocabulary (tokens longer than one character, none holding whitespace): text is
    split at whitespace, which is no token. A character vocabulary maps every character."""
    return max(len(t) for t in vocab) > 1 and not any(ch.isspace() for t in vocab for ch in t)


def min_steps(text: str, vocab: Sequence[str]) -> int:
    """A lower bound on the tokens of `text`, cheap enough to check before tokenizing."""
    chars = len("".join(text.split())) if splits_words(vocab) else len(text)
    return -(-chars // max(len(t) for t in vocab))


def tokenize(text: str, vocab: Sequence[str], field: str = "text") -> list[int]:
    """Greedy longest match of the vocabulary's tokens, skipping whitespace between words of a
    word vocabulary ("I grew up in France" -> I, grew, up, in, France).

    Raises a 422 naming the first character no token starts with and its position.
    """
    index = {token: k for k, token in enumerate(vocab)}
    longest = max(len(t) for t in vocab)
    words = splits_words(vocab)
    ids, pos, end = [], 0, len(text)
    while pos < end:
        if words and text[pos].isspace():
            pos += 1
            continue
        for size in range(min(longest, end - pos), 0, -1):
            k = index.get(text[pos : pos + size])
            if k is not None:
                ids.append(k)
                pos += size
                break
        else:
            raise _unknown(field, text, pos, words)
    return ids


def _unknown(field: str, text: str, pos: int, words: bool) -> ApiError:
    ch = text[pos]
    if words:
        word = text[pos:].split(maxsplit=1)[0][:40]
        message = f"{field}[{pos}] starts the word {word!r}, which is not in the model's vocabulary"
    else:
        shown = ch if ch.isprintable() else repr(ch)[1:-1]
        message = (
            f"{field}[{pos}] is {shown!r} (U+{ord(ch):04X}), which is not in the model's vocabulary"
        )
    return ApiError(422, "unknown_token", message, f"{field}[{pos}]")


def sequence(
    model: Model,
    inputs: list[list[float]] | None,
    text: str | None,
    settings: Settings,
) -> tuple[np.ndarray, list[str] | None]:
    """(x of shape (T, D), the tokens for text or None); limits checked before any work."""
    if text is not None:
        if model.vocab is None:
            raise ApiError(
                422, "no_vocabulary", "this model has no vocabulary; send inputs instead", "text"
            )
        sizes = (model.input_size, model.hidden_size, model.stacks)
        check_sequence(settings, min_steps(text, model.vocab), *sizes, field="text")
        ids = tokenize(text, model.vocab)
        if not ids:
            raise ApiError(422, "no_tokens", "text holds no tokens (only white space)", "text")
        check_sequence(settings, len(ids), *sizes, field="text")
        x = np.zeros((len(ids), model.input_size))
        x[np.arange(len(ids)), ids] = 1.0
        return x, [model.vocab[k] for k in ids]
    assert inputs is not None
    check_sequence(settings, len(inputs), model.input_size, model.hidden_size, model.stacks)
    return matrix(inputs, "inputs", model.input_size), None


def matrix(rows: list[list[float]], field: str, width: int) -> np.ndarray:
    for k, row in enumerate(rows):
        if len(row) != width:
            raise ApiError(
                422,
                "shape_mismatch",
                f"{field}[{k}] has {len(row)} numbers, expected {width}",
                f"{field}[{k}]",
            )
    return within_range(np.asarray(rows, dtype=np.float64), field)


def within_range(arr: np.ndarray, field: str) -> np.ndarray:
    """arr if every |value| <= MAX_ABS_VALUE (what the engine accepts), else a 422 that names
    the first value out of range by its place in the request, e.g. inputs[3][0]."""
    if arr.size == 0 or (arr.min() >= -MAX_ABS_VALUE and arr.max() <= MAX_ABS_VALUE):
        return arr
    index = tuple(int(i) for i in np.argwhere(np.abs(arr) > MAX_ABS_VALUE)[0])
    where = "".join(f"[{i}]" for i in index)
    raise ApiError(
        422,
        "out_of_range",
        f"{field}{where} is {float(arr[index]):g}; values may have a magnitude of at most "
        f"{MAX_ABS_VALUE:g}",
        f"{field}{where}",
    )


def states(
    model: Model, h0: list[list[float]] | None, c0: list[list[float]] | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """h0 / c0 as (layers * directions, hidden_size) arrays (torch's row order)."""
    h = None if h0 is None else matrix(h0, "h0", model.h_size)
    c = None if c0 is None else matrix(c0, "c0", model.hidden_size)
    per = "per layer" if model.num_directions == 1 else "per layer and direction"
    for name, arr in (("h0", h), ("c0", c)):
        if arr is not None and arr.shape[0] != model.stacks:
            raise ApiError(
                422,
                "shape_mismatch",
                f"{name} has {arr.shape[0]} rows, expected one {per} ({model.stacks})",
                name,
            )
    return h, c


def clamps(specs: list[ClampSpec] | None, model: Model, steps: int) -> list[Clamp]:
    """Engine clamps, checked here so that errors name the request's field `clamp`. Lists
    longer than the units or steps there are cannot be right and are refused before the
    engine expands them."""
    for n, spec in enumerate(specs or []):
        for name, values, limit in (("units", spec.units, model.hidden_size),
                                    ("steps", spec.steps, steps)):  # fmt: skip
            if values is not None and len(values) > limit:
                raise ApiError(
                    422,
                    "limit_exceeded",
                    f"clamp[{n}].{name} lists {len(values)} entries, more than the {limit} "
                    f"{name} there are",
                    f"clamp[{n}].{name}",
                )
    result = [Clamp(s.field, s.value, s.units, s.steps, s.layer, s.direction) for s in specs or []]
    try:
        compile_clamps(result, model.cell, model.num_layers, steps, model.hidden_size, "clamp",
                       model.num_directions)  # fmt: skip
    except EngineError as exc:
        raise ApiError(422, "invalid_input", str(exc), "clamp") from exc
    return result
