"""Errors the engine raises on bad input; each message names the field or tensor and the limit."""


class EngineError(ValueError):
    """Base class: the input cannot be traced (bad value, shape, name or option). `field`
    names the argument at fault where one does (e.g. "h0", "loss.step")."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ShapeError(EngineError):
    """An input, state or weight has the wrong number of dimensions or the wrong size."""


class LayoutError(EngineError):
    """Weights do not fit the cell's layout: a tensor is missing, unexpected or misshapen."""
