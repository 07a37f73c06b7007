"""The gradient-flow trace: what dL/dh_t and dL/dc_t mean, and an RNN's vanishing gradient."""

import numpy as np
import pytest

from app.engine import CELLS, init_params
from app.engine.backward import Loss, backward
from app.engine.backward_common import norms

D, H, T = 3, 5, 9


def _inputs(cell: str, layers: int, batch: int | None, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    rows = () if batch is None else (batch,)
    return (
        rng.standard_normal((T, *rows, D)),
        0.5 * rng.standard_normal((layers, *rows, H)),
        0.5 * rng.standard_normal((layers, *rows, H)),
    )


@pytest.mark.parametrize("cell", CELLS)
def test_dh_at_a_step_is_the_initial_state_gradient_of_the_rest_of_the_sequence(cell: str) -> None:
    # dL/dh_t (total) for a loss at a later step s is the gradient w.r.t. h0 of a run that
    # starts after step t from (h_t, c_t): an independent meaning of flow.dh and flow.dc.
    params = init_params(cell, D, H, seed=2)
    x, h0, c0 = _inputs(cell, 1, 2)
    lstm = cell.startswith("lstm")
    s, unit = 7, 3
    grads = backward(
        cell, params, x, Loss("unit", step=s, unit=unit), h0=h0, c0=c0 if lstm else None
    )
    layer = grads.trace.layers[0]
    for t in range(s):
        tail = backward(
            cell,
            params,
            x[t + 1 :],
            Loss("unit", step=s - t - 1, unit=unit),
            h0=layer["h"][t][None],
            c0=layer["c"][t][None] if lstm else None,
        )
        np.testing.assert_allclose(grads.flow.dh[0, t], tail.h0[0], rtol=1e-12, atol=1e-15)
        if lstm:  # dL/dc_t adds, to the rest's c0 gradient, the path through h_t = o tanh(c_t)
            assert grads.flow.dc is not None and tail.c0 is not None
            dh, o, tc = grads.flow.dh[0, t], layer["o"][t], layer["tanh_c"][t]
            dc = tail.c0[0] + dh * o * (1 - tc**2)
            if cell == "lstm_peephole":  # and through o's peephole on c_t
                dc += dh * tc * o * (1 - o) * params["weight_co_l0"]
            np.testing.assert_allclose(grads.flow.dc[0, t], dc, rtol=1e-12, atol=1e-15)
    expected_last = np.zeros((2, H))
    expected_last[:, unit] = 1.0  # the loss itself: dL/dh_s = 1 on the chosen unit, every row
    np.testing.assert_array_equal(grads.flow.dh[0, s], expected_last)
    np.testing.assert_array_equal(grads.flow.dh[0, s + 1 :], 0.0)  # later steps: no effect


@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("cell", CELLS)
def test_flow_norms_are_the_norms_of_the_per_unit_gradients(cell: str, batch: int | None) -> None:
    params = init_params(cell, D, H, 2, seed=1)
    x, _, _ = _inputs(cell, 2, batch, seed=3)
    rows = () if batch is None else (batch,)
    loss = Loss("mse_h", targets=np.zeros((T, *rows, H)))
    flow = backward(cell, params, x, loss).flow
    assert flow.dh.shape == (2, T, *rows, H)
    sum_axes = tuple(range(2, flow.dh.ndim))
    np.testing.assert_allclose(flow.dh_norm, np.sqrt((flow.dh**2).sum(axis=sum_axes)))
    grads_x = backward(cell, params, x, loss).x
    np.testing.assert_allclose(
        flow.dx_norm, np.sqrt((grads_x**2).reshape(T, -1).sum(axis=1)), rtol=1e-14
    )
    if cell.startswith("lstm"):
        assert flow.dc is not None and flow.dc_norm is not None
        assert flow.dc.shape == flow.dh.shape
        np.testing.assert_allclose(flow.dc_norm, np.sqrt((flow.dc**2).sum(axis=sum_axes)))
    else:
        assert flow.dc is None and flow.dc_norm is None
    # the loss is on the top layer; the bottom layer gets it only through the top
    assert flow.dh_norm.shape == (2, T) and np.all(flow.dh_norm > 0)


def test_rnn_gradient_vanishes_where_an_lstm_with_a_high_forget_bias_keeps_it() -> None:
    steps, d, h = 50, 8, 16
    x = np.random.default_rng(0).standard_normal((steps, d))
    last_only = Loss("mse_h", targets=np.zeros((steps, h)), mask=np.arange(steps) == steps - 1)

    rnn = backward("rnn_tanh", init_params("rnn_tanh", d, h, seed=0), x, last_only).flow
    rnn_ratio = rnn.dh_norm[0, 0] / rnn.dh_norm[0, -1]

    lstm_params = init_params("lstm", d, h, seed=0)
    forget_bias = lstm_params["bias_hh_l0"].copy()
    forget_bias[h : 2 * h] += 3.0  # f = sigmoid(.. + 3) ~ 0.95: the cell state keeps memory
    lstm_params["bias_hh_l0"] = forget_bias
    lstm = backward("lstm", lstm_params, x, last_only).flow
    assert lstm.dc_norm is not None
    lstm_ratio = lstm.dh_norm[0, 0] / lstm.dh_norm[0, -1]
    lstm_c_ratio = lstm.dc_norm[0, 0] / lstm.dc_norm[0, -1]

    # 49 steps back, the RNN's gradient has shrunk by many orders of magnitude ...
    assert rnn_ratio < 1e-8
    assert np.all(np.diff(np.log(rnn.dh_norm[0])) > 0)  # shrinking at every step back
    # ... while the LSTM's survives through c (f close to 1), and h gets it from c
    assert lstm_c_ratio > 0.1
    assert lstm_ratio > 1e-3
    assert lstm_ratio / rnn_ratio > 1e5


def test_batch_rows_are_independent_so_a_batch_sums_per_row_gradients() -> None:
    params = init_params("gru", D, H, seed=5)
    x, h0, _ = _inputs("gru", 1, 3, seed=5)
    loss = Loss("unit", step=6, unit=2)
    batch = backward("gru", params, x, loss, h0=h0)
    rows = [backward("gru", params, x[:, b], loss, h0=h0[:, b]) for b in range(3)]
    for b, row in enumerate(rows):
        np.testing.assert_allclose(batch.x[:, b], row.x, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(batch.h0[:, b], row.h0, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(batch.flow.dh[:, :, b], row.flow.dh, rtol=1e-13, atol=1e-16)
    for name in params:
        np.testing.assert_allclose(
            batch.params[name], sum(row.params[name] for row in rows), rtol=1e-12, atol=1e-15
        )
    assert batch.loss == pytest.approx(sum(row.loss for row in rows), rel=1e-14)


def test_norms_keep_values_whose_squares_overflow_or_underflow() -> None:
    a = np.array([[[3e200, 4e200]], [[3e-200, -4e-200]], [[0.0, 0.0]]])  # (3, 1, 2)
    np.testing.assert_allclose(norms(a, (1, 2)), [5e200, 5e-200, 0.0], rtol=1e-15)
    b = np.random.default_rng(0).standard_normal((4, 3, 5))
    np.testing.assert_allclose(norms(b, (1, 2)), np.linalg.norm(b.reshape(4, -1), axis=1))


def test_gradient_flow_of_a_vanishing_rnn_stays_positive() -> None:
    # 1e-3 recurrent weight: dL/dh shrinks 1000x a step, to about 1e-297 after 100 steps; its
    # square underflows to 0 below 1e-162, and the flow picture would show a cliff there
    params = {
        "weight_ih_l0": np.array([[1.0]]),
        "weight_hh_l0": np.array([[1e-3]]),
        "bias_ih_l0": np.zeros(1),
        "bias_hh_l0": np.zeros(1),
    }
    grads = backward("rnn_tanh", params, np.full((100, 1), 0.1), Loss("unit"))
    dh_norm = grads.flow.dh_norm[0]
    assert (dh_norm > 0).all()
    np.testing.assert_allclose(dh_norm, np.abs(grads.flow.dh[0, :, 0]), rtol=1e-15)
