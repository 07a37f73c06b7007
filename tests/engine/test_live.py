"""Live stepping (one input at a time, state kept by the caller) equals the batch trace."""

import numpy as np
import pytest

from app.engine import (
    CELLS,
    Readout,
    ShapeError,
    State,
    init_params,
    initial_state,
    run_trace,
    step,
)

RNG = np.random.default_rng(12)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("batch", [None, 2])
def test_stepping_equals_the_whole_sequence(cell: str, batch: int | None) -> None:
    params = init_params(cell, 3, 4, 2, seed=6)
    x = RNG.standard_normal((8, 3) if batch is None else (8, batch, 3))
    readout = Readout(RNG.standard_normal((5, 4)), RNG.standard_normal(5))
    shape = (2, 4) if batch is None else (2, batch, 4)
    h0 = 0.5 * RNG.standard_normal(shape)
    c0 = 0.5 * RNG.standard_normal(shape) if cell.startswith("lstm") else None
    whole = run_trace(cell, params, x, h0=h0, c0=c0, readout=readout)
    state = initial_state(cell, params, h0=h0, c0=c0)
    for t in range(8):
        state, fields, probs = step(cell, params, x[t], state, readout=readout)
        for k in range(2):
            assert set(fields[k]) == set(whole.layers[k])
            for name, value in fields[k].items():
                np.testing.assert_allclose(value, whole.layers[k][name][t], rtol=0, atol=1e-13)
        assert whole.probs is not None and probs is not None
        np.testing.assert_allclose(probs, whole.probs[t], rtol=0, atol=1e-13)
    np.testing.assert_allclose(state.h, whole.h_n, rtol=0, atol=1e-13)
    if c0 is not None:
        assert state.c is not None and whole.c_n is not None
        np.testing.assert_allclose(state.c, whole.c_n, rtol=0, atol=1e-13)


def test_initial_state_defaults_to_zeros_of_the_model_shape() -> None:
    params = init_params("lstm", 3, 4, 2)
    state = initial_state("lstm", params)
    assert state.h.shape == (2, 4) and state.c is not None and state.c.shape == (2, 4)
    assert not state.h.any() and not state.c.any()
    assert initial_state("gru", init_params("gru", 3, 4)).c is None
    batched = initial_state("rnn_tanh", init_params("rnn_tanh", 3, 4), batch=3)
    assert batched.h.shape == (1, 3, 4)


def test_float32_state_steps_in_float32() -> None:
    params = init_params("gru", 3, 4)
    state = initial_state("gru", params, dtype=np.float32)
    state, fields, _ = step("gru", params, np.ones(3), state, dtype=np.float32)
    assert state.h.dtype == np.float32 and fields[0]["z"].dtype == np.float32


def test_step_does_not_alias_the_callers_state() -> None:
    params = init_params("lstm", 3, 4)
    state = initial_state("lstm", params)
    before = state.h.copy()
    new, _, _ = step("lstm", params, np.ones(3), state)
    np.testing.assert_array_equal(state.h, before)
    assert not np.shares_memory(new.h, state.h)


def test_step_refuses_a_vector_that_does_not_match_the_state() -> None:
    params = init_params("lstm", 3, 4)
    with pytest.raises(ShapeError, match="x_t has shape"):
        step("lstm", params, np.ones((2, 3)), initial_state("lstm", params))
    bad = State(np.zeros((1, 5)), np.zeros((1, 5)))
    with pytest.raises(ShapeError, match=r"h0 has shape \(1, 5\), expected \(1, 4\)"):
        step("lstm", params, np.ones(3), bad)
