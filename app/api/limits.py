"""Checks of request sizes against the settings; each breach names the field and the limit."""

from app.api.errors import ApiError
from app.config import Settings


def check_model_size(settings: Settings, input_size: int, hidden_size: int, layers: int) -> None:
    for field, value, limit in (
        ("model.input_size", input_size, settings.max_input_size),
        ("model.hidden_size", hidden_size, settings.max_hidden_size),
        ("model.num_layers", layers, settings.max_layers),
    ):
        if value > limit:
            raise ApiError(
                422, "limit_exceeded", f"{field} is {value}, the limit is {limit}", field
            )


def check_sequence(
    settings: Settings, steps: int, input_size: int, hidden: int, layers: int
) -> None:
    if steps > settings.max_steps:
        raise ApiError(
            413,
            "limit_exceeded",
            f"inputs has {steps} steps, the limit is {settings.max_steps}",
            "inputs",
        )
    cost = steps * hidden * (input_size + hidden) * layers
    if cost > settings.max_compute:
        raise ApiError(
            413,
            "limit_exceeded",
            f"compute T*H*(D+H)*layers is {cost}, the limit is {settings.max_compute}",
            "inputs",
        )
