"""Gatescope's engine: recurrent cells in NumPy, traced step by step (see ENGINE_CONTRACT)."""

from app.engine.backward import LOSS_KINDS, GradientFlow, Gradients, Loss, backward
from app.engine.errors import EngineError, LayoutError, ShapeError
from app.engine.layouts_account import Converted
from app.engine.layouts_keras import convert_keras, from_keras, to_keras
from app.engine.layouts_keras3 import convert_keras_file
from app.engine.layouts_torch import convert_torch, from_torch
from app.engine.live import initial_state, step
from app.engine.params import init_params, model_sizes
from app.engine.records import Clamp, Readout, State, Trace
from app.engine.spec import CELLS, GATES, TRACE_FIELDS
from app.engine.trace import run_trace

__all__ = [
    "CELLS",
    "GATES",
    "LOSS_KINDS",
    "TRACE_FIELDS",
    "Clamp",
    "Converted",
    "EngineError",
    "GradientFlow",
    "Gradients",
    "LayoutError",
    "Loss",
    "Readout",
    "ShapeError",
    "State",
    "Trace",
    "backward",
    "convert_keras",
    "convert_keras_file",
    "convert_torch",
    "from_keras",
    "from_torch",
    "init_params",
    "initial_state",
    "model_sizes",
    "run_trace",
    "step",
    "to_keras",
]
