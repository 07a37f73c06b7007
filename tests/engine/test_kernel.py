"""The compiled LSTM kernel (app/engine/kernel_numba.py) against the NumPy loop and torch."""

from types import ModuleType

import numpy as np
import pytest

from app.engine import Clamp, from_torch, init_params, run_trace
from app.engine.errors import EngineError
from app.engine.kernel import numba_version
from app.engine.weight_cache import PreparedParams
from tests.conftest import skip_or_fail


@pytest.fixture(autouse=True)
def _needs_numba() -> None:
    if numba_version() is None:
        skip_or_fail("numba is not installed (pip install -e '.[fast]')")


def _both(params: dict, x: np.ndarray, dtype: type, **kw: object) -> tuple:
    fast = run_trace("lstm", params, x, dtype=dtype, kernel="numba", **kw)  # type: ignore[arg-type]
    slow = run_trace("lstm", params, x, dtype=dtype, kernel="numpy", **kw)  # type: ignore[arg-type]
    return fast, slow


def test_tanh32_is_within_five_float32_ulps_and_3e_7_of_tanh() -> None:
    from app.engine.kernel_numba import tanh32

    x = np.concatenate([np.linspace(-12, 12, 200_001), [0.0, 1e-30, -1e-8, 7.9, 8.5, 1e4]])
    x32 = x.astype(np.float32)
    got = np.array([tanh32(v) for v in x32], dtype=np.float32).astype(np.float64)
    want = np.tanh(x32.astype(np.float64))
    err = np.abs(got - want)
    ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    assert err.max() <= 3e-7  # measured 2.6e-7, near |x| = 5.7
    assert (err / ulp).max() <= 5  # measured 4.4
    assert np.all(np.abs(got) <= 1.0) and got[200_001] == 0.0 and np.all(np.sign(got) == np.sign(x))


@pytest.mark.parametrize(
    ("dtype", "atol"), [(np.float32, 2e-6), (np.float64, 1e-13)], ids=["f32", "f64"]
)
@pytest.mark.parametrize("shape", [(9, 3), (40, 4, 3)], ids=["unbatched", "batch4"])
def test_kernel_equals_the_numpy_loop_in_every_field(
    dtype: type, atol: float, shape: tuple[int, ...]
) -> None:
    params = init_params("lstm", shape[-1], 16, 2, seed=3, num_directions=2)
    rng = np.random.default_rng(0)
    x = 2 * rng.standard_normal(shape)
    state = (4,) + ((shape[1],) if len(shape) == 3 else ()) + (16,)
    h0, c0 = rng.standard_normal(state), 3 * rng.standard_normal(state)
    fast, slow = _both(params, x, dtype, h0=h0, c0=c0)
    assert (fast.kernel, slow.kernel) == ("numba", "numpy")
    for a, b in zip([*fast.layers, *fast.backward], [*slow.layers, *slow.backward], strict=True):
        assert a.keys() == b.keys() and len(a) == 9
        for field in a:
            assert a[field].dtype == np.dtype(dtype)
            np.testing.assert_allclose(a[field], b[field], rtol=0, atol=atol, err_msg=field)
    np.testing.assert_allclose(fast.h_n, slow.h_n, rtol=0, atol=atol)
    np.testing.assert_allclose(fast.c_n, slow.c_n, rtol=0, atol=atol)


def test_kernel_matches_torch_over_a_long_sequence_in_float32(torch: ModuleType) -> None:
    torch.manual_seed(0)
    module = torch.nn.LSTM(16, 64)
    params, _ = from_torch("lstm", {k: v.numpy() for k, v in module.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((300, 16)).astype(np.float32)
    trace = run_trace("lstm", params, x, dtype=np.float32, kernel="numba")
    with torch.no_grad():
        out, (h_n, c_n) = module(torch.from_numpy(x))
    np.testing.assert_allclose(trace.h_n, h_n.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(trace.layers[0]["h"], out.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(trace.c_n, c_n.numpy(), rtol=0, atol=1e-5)


@pytest.mark.kernel_on
def test_auto_picks_the_kernel_for_float32_and_small_float64_only() -> None:
    x = np.zeros((3, 2))
    small, big = init_params("lstm", 2, 8), init_params("lstm", 2, 128)
    assert run_trace("lstm", small, x, dtype=np.float32).kernel == "numba"
    assert run_trace("lstm", small, x).kernel == "numba"
    assert run_trace("lstm", big, x).kernel == "numpy"  # float64 at H=128: NumPy is as fast
    assert run_trace("lstm", big, x, dtype=np.float32).kernel == "numba"
    assert run_trace("gru", init_params("gru", 2, 8), x, dtype=np.float32).kernel == "numpy"


def test_clamped_kernel_equals_the_clamped_numpy_loop() -> None:
    params = init_params("lstm", 2, 6, 2, seed=4)
    x = np.random.default_rng(5).standard_normal((8, 3, 2))
    clamps = [
        Clamp("f", 1.0, units=[0, 2], steps=[3, 4]),
        Clamp("i", 0.0, layer=1),
        Clamp("o", 0.25, units=[5], steps=[0]),
    ]
    fast, slow = _both(params, x, np.float32, clamps=clamps)
    assert fast.kernel == "numba"
    np.testing.assert_array_equal(fast.layers[0]["f"][3:5, :, [0, 2]], 1.0)
    np.testing.assert_array_equal(fast.layers[1]["i"], 0.0)
    for a, b in zip(fast.layers, slow.layers, strict=True):
        for field in a:
            np.testing.assert_allclose(a[field], b[field], rtol=0, atol=2e-6, err_msg=field)


def test_unknown_kernel_is_refused_by_name() -> None:
    with pytest.raises(EngineError, match="kernel must be one of auto, numpy, numba"):
        run_trace("lstm", init_params("lstm", 2, 4), np.ones((2, 2)), kernel="cuda")


def test_prepared_params_stack_once_and_trace_the_same() -> None:
    plain = init_params("lstm", 3, 8, 2, seed=1, num_directions=2)
    prepared = PreparedParams(plain)
    x = np.random.default_rng(2).standard_normal((6, 3))
    first = run_trace("lstm", prepared, x, dtype=np.float32)
    misses = prepared.cache.misses
    assert misses == 4 and prepared.cache.hits == 0  # 2 layers x 2 directions
    second = run_trace("lstm", prepared, x, dtype=np.float32)
    assert prepared.cache.misses == misses and prepared.cache.hits == 4
    reference = run_trace("lstm", plain, x, dtype=np.float32)
    for a, b, c in zip(first.layers, second.layers, reference.layers, strict=True):
        for field in a:
            np.testing.assert_array_equal(a[field], c[field])
            np.testing.assert_array_equal(b[field], c[field])
    run_trace("lstm", prepared, x)  # float64: its own copies
    assert prepared.cache.misses == 8


def test_auto_is_the_numpy_loop_when_compiled_kernels_are_switched_off() -> None:
    from app.engine.kernel import _auto_compiled, allow_compiled

    before = _auto_compiled[0]
    try:
        allow_compiled(False)
        trace = run_trace("lstm", init_params("lstm", 2, 8), np.zeros((3, 2)), dtype=np.float32)
        assert trace.kernel == "numpy"
    finally:
        allow_compiled(before)
