"""The engine's aligned allocation: the hot loops' matrices and trace buffers start on 64 bytes."""

import numpy as np
import pytest

from app.engine import init_params, run_trace
from app.engine.cell_common import ALIGN, aligned_copy, aligned_empty, stacked_weights


@pytest.mark.parametrize("shape", [(0,), (1,), (3, 5), (512, 128), (7, 1, 9)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_aligned_empty_starts_on_a_64_byte_boundary(shape, dtype):
    arrays = [aligned_empty(shape, dtype) for _ in range(20)]  # malloc's offsets vary
    for a in arrays:
        assert a.shape == shape and a.dtype == dtype
        assert a.flags.c_contiguous and a.flags.writeable
        assert a.ctypes.data % ALIGN == 0 or a.size == 0  # an empty array has no data


def test_aligned_empty_arrays_do_not_share_memory():
    a, b = aligned_empty((4, 4), np.float64), aligned_empty((4, 4), np.float64)
    a[...] = 1.0
    b[...] = 2.0
    assert (a == 1.0).all() and not np.shares_memory(a, b)


def test_aligned_copy_keeps_values_and_converts_dtype():
    src = np.arange(12, dtype=np.float64).reshape(3, 4).T  # not C-contiguous
    out = aligned_copy(src, np.float32)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert out.ctypes.data % ALIGN == 0
    np.testing.assert_array_equal(out, src.astype(np.float32))


def test_stacked_weights_are_aligned_for_the_recurrent_matvec():
    params = init_params("lstm", 5, 8, 1, seed=0)
    for _ in range(10):
        w_ih_t, w_hh_t, _ = stacked_weights(
            params, 0, 8, (3, 0, 1, 2), (0.5,) * 3 + (1,), np.float64
        )
        assert w_hh_t.ctypes.data % ALIGN == 0 and w_ih_t.ctypes.data % ALIGN == 0


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_trace_buffers_start_aligned(cell):
    params = init_params(cell, 3, 16, 1, seed=0)
    x = np.random.default_rng(0).standard_normal((6, 3))
    first = {"lstm": "o", "gru": "r", "rnn_tanh": "pre"}[cell]  # block 0 of each row
    for _ in range(5):
        trace = run_trace(cell, params, x)
        assert trace.layers[0][first].ctypes.data % ALIGN == 0
