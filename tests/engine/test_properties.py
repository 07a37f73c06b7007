"""Hypothesis properties that hold for every cell, size, batch and input."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.engine import CELLS, Readout, init_params, initial_state, run_trace, step

SIGMOID_GATES = {"i", "f", "o", "r", "z"}
BOUNDED_H = {"lstm", "lstm_peephole", "lstm_coupled", "gru", "rnn_tanh"}


@st.composite
def cases(draw: st.DrawFn, elements: st.SearchStrategy[float] | None = None) -> tuple:
    cell = draw(st.sampled_from(CELLS))
    D, H, L = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    T = draw(st.integers(1, 12))
    B = draw(st.sampled_from([None, 1, 3]))
    shape = (T, D) if B is None else (T, B, D)
    floats = elements if elements is not None else st.floats(-5, 5, allow_nan=False)
    x = draw(hnp.arrays(np.float64, shape, elements=floats))
    params = init_params(cell, D, H, L, seed=draw(st.integers(0, 2**16)))
    return cell, params, x


@settings(max_examples=60, deadline=None)
@given(cases())
def test_gates_lie_in_their_ranges_and_h_is_bounded(case: tuple) -> None:
    cell, params, x = case
    trace = run_trace(cell, params, x)
    for layer in trace.layers:
        for name, value in layer.items():
            assert np.isfinite(value).all()
            if name in SIGMOID_GATES:
                assert value.min() >= 0 and value.max() <= 1, name
            if name in ("g", "n", "tanh_c"):
                assert np.abs(value).max() <= 1, name
        if cell in BOUNDED_H:
            assert np.abs(layer["h"]).max() <= 1
        if cell == "rnn_relu":
            assert layer["h"].min() >= 0


@settings(max_examples=40, deadline=None)
@given(cases())
def test_stepping_one_step_at_a_time_equals_the_whole_sequence(case: tuple) -> None:
    cell, params, x = case
    whole = run_trace(cell, params, x)
    state = initial_state(cell, params, batch=x.shape[1] if x.ndim == 3 else None)
    for t in range(x.shape[0]):
        state, fields, _ = step(cell, params, x[t], state)
        for k, layer in enumerate(fields):
            for name, value in layer.items():
                np.testing.assert_allclose(value, whole.layers[k][name][t], rtol=0, atol=1e-12)
    np.testing.assert_allclose(state.h, whole.h_n, rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(cases())
def test_float32_is_close_to_float64(case: tuple) -> None:
    cell, params, x = case
    t64 = run_trace(cell, params, x)
    t32 = run_trace(cell, params, x, dtype=np.float32)
    for k, layer in enumerate(t32.layers):
        for name, value in layer.items():
            assert value.dtype == np.float32
            scale = max(1.0, float(np.abs(t64.layers[k][name]).max()))
            np.testing.assert_allclose(value, t64.layers[k][name], rtol=0, atol=1e-4 * scale)


@settings(max_examples=40, deadline=None)
@given(cases(elements=st.sampled_from([-1e6, 1e6, 0.0])), st.sampled_from([np.float32, np.float64]))
def test_inputs_of_a_million_give_finite_outputs(case: tuple, dtype: type) -> None:
    cell, params, x = case
    H = params["weight_hh_l0"].shape[1]
    readout = Readout(np.ones((3, H)), np.zeros(3))
    trace = run_trace(cell, params, x, readout=readout, dtype=dtype)
    for layer in trace.layers:
        for value in layer.values():
            assert np.isfinite(value).all()
    assert trace.probs is not None and np.isfinite(trace.probs).all()
    np.testing.assert_allclose(trace.probs.sum(axis=-1), 1.0, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, (4, 6), elements=st.floats(-1e300, 1e300, allow_nan=False)))
def test_readout_softmax_is_stable_for_huge_logits(logits: np.ndarray) -> None:
    from app.engine.readout import softmax

    probs = softmax(logits)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)
    top = np.take_along_axis(probs, logits.argmax(axis=-1)[:, None], axis=-1)[:, 0]
    np.testing.assert_array_equal(top, probs.max(axis=-1))  # the largest logit is most likely
