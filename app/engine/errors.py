"""Errors the engine raises on bad input; each message names the field or tensor and the limit."""


class EngineError(ValueError):
    """Base class: the input cannot be traced (bad value, shape, name or option)."""


class ShapeError(EngineError):
    """An input, state or weight has the wrong number of dimensions or the wrong size."""


class LayoutError(EngineError):
    """Weights do not fit the cell's layout: a tensor is missing, unexpected or misshapen."""
