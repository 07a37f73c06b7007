"""The benchmark's naive loop computes the same trace as the engine (a fair baseline)."""

import numpy as np

from app.engine import init_params, run_trace
from bench.engine_bench import naive_trace


def test_naive_benchmark_loop_traces_the_same_gates() -> None:
    params = init_params("lstm", 5, 6, seed=4)
    x = np.random.default_rng(1).standard_normal((12, 5))
    naive = naive_trace(params, x)
    trace = run_trace("lstm", params, x).layers[0]
    assert set(naive) <= set(trace)
    for field, value in naive.items():
        np.testing.assert_allclose(value, trace[field], rtol=0, atol=1e-14, err_msg=field)
