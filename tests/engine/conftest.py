"""Engine test helpers: torch when importable (in CI its absence fails instead of skipping)."""

from types import ModuleType
from typing import Any

import pytest

from tests.conftest import skip_or_fail


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    """PyTorch with one thread, or a skip (a failure when CI=true)."""
    try:
        import torch as torch_module
    except ImportError:
        skip_or_fail("torch is not installed (pip install torch==2.13.0 for parity tests)")
        raise
    torch_module.set_num_threads(1)
    return torch_module


# The engine cells that have a torch.nn counterpart: the module's name and its extra arguments.
TORCH_MODULES = {
    "lstm": ("LSTM", {}),
    "gru": ("GRU", {}),
    "rnn_tanh": ("RNN", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
}


def torch_module(torch: ModuleType, cell: str, d: int, h: int, layers: int) -> Any:
    """The torch.nn module (LSTM, GRU or RNN) of `cell`, freshly initialised."""
    name, kwargs = TORCH_MODULES[cell]
    return getattr(torch.nn, name)(d, h, num_layers=layers, **kwargs)
