"""Checks of request sizes against the settings; each breach names the field, value and limit."""

import numpy as np

from app.api.errors import ApiError
from app.config import Settings

# Stacked H-row blocks per cell (the engine's layout): parameters = rows * (D_in + H + 2).
GATE_ROWS = {"lstm": 4, "lstm_peephole": 4, "lstm_coupled": 3, "gru": 3, "rnn_tanh": 1,
             "rnn_relu": 1}  # fmt: skip


VALUES_PER_UNIT = 9  # the most traced values a unit has per step (an LSTM's), app.engine.spec


def _breach(field: str, what: str, limit: int, setting: str) -> ApiError:
    return ApiError(
        422, "limit_exceeded", f"{field} {what}, the limit is {limit} ({setting})", field
    )


def check_model_size(
    settings: Settings,
    input_size: int,
    hidden_size: int,
    layers: int,
    file: str | None = None,
    why_input: str = "",
) -> None:
    """Sizes against the limits; errors name model.<size>, or `file` for uploaded weights.
    `why_input` follows the input size in a message (e.g. that it is the vocabulary's)."""
    for size, value, limit, setting in (
        ("input_size", input_size, settings.max_input_size, "max_input_size"),
        ("hidden_size", hidden_size, settings.max_hidden_size, "max_hidden_size"),
        ("num_layers", layers, settings.max_layers, "max_layers"),
    ):
        if value > limit:
            what = f"{file}'s weights have {size} {value}" if file else f"model.{size} is {value}"
            what += why_input if size == "input_size" else ""
            raise ApiError(
                422,
                "limit_exceeded",
                f"{what}, the limit is {limit} ({setting})",
                file or f"model.{size}",
            )


def parameter_count(
    cell: str, input_size: int, hidden_size: int, layers: int, directions: int = 1
) -> int:
    """Numbers in the weights of that shape (layers above the first read directions * H)."""
    rows, H = GATE_ROWS[cell] * hidden_size, hidden_size
    first = rows * (input_size + H + 2)
    above = rows * (directions * H + H + 2) * (layers - 1)
    peep = 3 * H * layers if cell == "lstm_peephole" else 0
    return directions * (first + above + peep)


def check_parameters(settings: Settings, field: str, count: int) -> None:
    if count > settings.max_parameters:
        raise _breach(field, f"has {count} parameters", settings.max_parameters, "max_parameters")


def check_sequence(
    settings: Settings, steps: int, input_size: int, hidden: int, layers: int, field: str = "inputs"
) -> None:
    if steps > settings.max_steps:
        raise ApiError(
            413,
            "limit_exceeded",
            f"{field} has {steps} steps, the limit is {settings.max_steps} (max_steps)",
            field,
        )
    cost = steps * hidden * (input_size + hidden) * layers
    if cost > settings.max_compute:
        raise ApiError(
            413,
            "limit_exceeded",
            f"compute T*H*(D+H)*layers is {cost}, the limit is {settings.max_compute} "
            "(max_compute)",
            field,
        )
    values = steps * hidden * layers * VALUES_PER_UNIT
    if values > settings.max_trace_values:
        raise ApiError(
            413,
            "limit_exceeded",
            f"{field} has {steps} steps: a trace of {steps} steps x {hidden} units x {layers} "
            f"layers x {VALUES_PER_UNIT} values is {values} numbers, the limit is "
            f"{settings.max_trace_values} (max_trace_values)",
            field,
        )


def check_vocab(settings: Settings, field: str, vocab: list[str]) -> None:
    """Length limits, and tokens unique (a token must name one input)."""
    if len(vocab) > settings.max_vocab_size:
        raise _breach(field, f"has {len(vocab)} tokens", settings.max_vocab_size, "max_vocab_size")
    for k, token in enumerate(vocab):
        if not token or len(token) > settings.max_token_length:
            raise ApiError(
                422,
                "limit_exceeded",
                f"{field}[{k}] has {len(token)} characters; tokens have 1 to "
                f"{settings.max_token_length} (max_token_length)",
                f"{field}[{k}]",
            )
    seen: dict[str, int] = {}
    for k, token in enumerate(vocab):
        if token in seen:
            raise ApiError(
                422,
                "invalid_vocab",
                f"{field}[{k}] repeats the token {token!r} of {field}[{seen[token]}]",
                f"{field}[{k}]",
            )
        seen[token] = k


MAX_ABS_WEIGHT = 1e12  # as the engine: larger weights overflow float32 pre-activations


def check_weight_values(name: str, arr: np.ndarray) -> None:
    """Finite weights of sane size, or a 422 naming the tensor and the first bad entry."""
    if arr.size and float(arr.min()) >= -MAX_ABS_WEIGHT and float(arr.max()) <= MAX_ABS_WEIGHT:
        return  # NaN fails both comparisons
    bad = ~np.isfinite(arr) | (np.abs(arr) > MAX_ABS_WEIGHT)
    if bad.any():
        where = [int(i) for i in np.argwhere(bad)[0]]
        raise ApiError(
            422,
            "invalid_weights",
            f"{name}{where} is {float(arr[tuple(where)])}; weights must be finite with "
            f"magnitude at most {MAX_ABS_WEIGHT:g}",
            name,
        )
