"""Engine test helpers: torch when importable (in CI its absence fails instead of skipping)."""

from types import ModuleType

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
