"""Every cell against hand-worked numbers and the scalar oracle (peephole and coupled included)."""

import math

import numpy as np
import pytest

from app.engine import CELLS, TRACE_FIELDS, init_params, run_trace
from tests.engine import scalar_reference


def _sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _one_unit(cell: str) -> dict[str, np.ndarray]:
    """D = H = 1 weights with distinct values so a swapped gate row would show."""
    p = {
        "lstm": {"w_ih": [0.5, -0.3, 0.8, 0.1], "w_hh": [0.2, 0.4, -0.6, 0.7]},
        "lstm_peephole": {"w_ih": [0.5, -0.3, 0.8, 0.1], "w_hh": [0.2, 0.4, -0.6, 0.7]},
        "lstm_coupled": {"w_ih": [-0.3, 0.8, 0.1], "w_hh": [0.4, -0.6, 0.7]},
    }[cell]
    rows = len(p["w_ih"])
    params = {
        "weight_ih_l0": np.array(p["w_ih"]).reshape(rows, 1),
        "weight_hh_l0": np.array(p["w_hh"]).reshape(rows, 1),
        "bias_ih_l0": np.linspace(0.1, -0.1, rows),
        "bias_hh_l0": np.full(rows, 0.05),
    }
    if cell == "lstm_peephole":
        params |= {
            "weight_ci_l0": np.array([0.9]),
            "weight_cf_l0": np.array([-0.7]),
            "weight_co_l0": np.array([0.3]),
        }
    return params


def test_peephole_step_by_hand() -> None:
    p = _one_unit("lstm_peephole")
    x0, x1 = 1.5, -0.5
    b = p["bias_ih_l0"] + 0.05  # both biases
    # step 0 from h = c = 0: peepholes see c_prev = 0 for i, f and the new c for o
    i0, f0, g0 = _sig(0.5 * x0 + b[0]), _sig(-0.3 * x0 + b[1]), math.tanh(0.8 * x0 + b[2])
    c0 = f0 * 0 + i0 * g0
    o0 = _sig(0.1 * x0 + b[3] + 0.3 * c0)
    h0 = o0 * math.tanh(c0)
    # step 1: h and c from step 0 feed back
    i1 = _sig(0.5 * x1 + 0.2 * h0 + b[0] + 0.9 * c0)
    f1 = _sig(-0.3 * x1 + 0.4 * h0 + b[1] - 0.7 * c0)
    g1 = math.tanh(0.8 * x1 - 0.6 * h0 + b[2])
    c1 = f1 * c0 + i1 * g1
    o1 = _sig(0.1 * x1 + 0.7 * h0 + b[3] + 0.3 * c1)
    h1 = o1 * math.tanh(c1)
    layer = run_trace("lstm_peephole", p, np.array([[x0], [x1]])).layers[0]
    expected = {
        "i": [i0, i1],
        "f": [f0, f1],
        "g": [g0, g1],
        "o": [o0, o1],
        "c": [c0, c1],
        "h": [h0, h1],
        "f_c_prev": [0.0, f1 * c0],
        "i_g": [i0 * g0, i1 * g1],
        "tanh_c": [math.tanh(c0), math.tanh(c1)],
    }
    for field, want in expected.items():
        np.testing.assert_allclose(layer[field][:, 0], want, rtol=0, atol=1e-15, err_msg=field)


def test_coupled_step_by_hand() -> None:
    p = _one_unit("lstm_coupled")
    x0, x1 = 1.5, -0.5
    b = p["bias_ih_l0"] + 0.05
    f0, g0, o0 = _sig(-0.3 * x0 + b[0]), math.tanh(0.8 * x0 + b[1]), _sig(0.1 * x0 + b[2])
    c0 = (1 - f0) * g0
    h0 = o0 * math.tanh(c0)
    f1 = _sig(-0.3 * x1 + 0.4 * h0 + b[0])
    g1 = math.tanh(0.8 * x1 - 0.6 * h0 + b[1])
    o1 = _sig(0.1 * x1 + 0.7 * h0 + b[2])
    c1 = f1 * c0 + (1 - f1) * g1
    h1 = o1 * math.tanh(c1)
    layer = run_trace("lstm_coupled", p, np.array([[x0], [x1]])).layers[0]
    expected = {"f": [f0, f1], "i": [1 - f0, 1 - f1], "g": [g0, g1], "o": [o0, o1]}
    expected |= {"c": [c0, c1], "h": [h0, h1]}
    for field, want in expected.items():
        np.testing.assert_allclose(layer[field][:, 0], want, rtol=0, atol=1e-15, err_msg=field)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_trace_equals_scalar_oracle(cell: str, num_layers: int) -> None:
    H = 5
    params = init_params(cell, 3, H, num_layers, seed=11)
    x = np.random.default_rng(3).standard_normal((7, 3)) * 2
    trace = run_trace(cell, params, x)
    want = scalar_reference.trace(cell, params, x, num_layers, H)
    for k in range(num_layers):
        assert tuple(trace.layers[k]) == TRACE_FIELDS[cell]
        for field in TRACE_FIELDS[cell]:
            np.testing.assert_allclose(
                trace.layers[k][field], want[k][field], rtol=0, atol=1e-13, err_msg=f"{k}/{field}"
            )


@pytest.mark.parametrize("cell", CELLS)
def test_batch_rows_are_independent_traces(cell: str) -> None:
    params = init_params(cell, 2, 3, 2, seed=5)
    x = np.random.default_rng(4).standard_normal((6, 4, 2))
    batch = run_trace(cell, params, x)
    for b in range(4):
        alone = run_trace(cell, params, x[:, b])
        for k in range(2):
            for field, value in alone.layers[k].items():
                np.testing.assert_allclose(batch.layers[k][field][:, b], value, atol=1e-14)
        np.testing.assert_allclose(batch.h_n[:, b], alone.h_n, atol=1e-14)


@pytest.mark.parametrize("cell", CELLS)
def test_initial_state_is_used(cell: str) -> None:
    params = init_params(cell, 2, 3, 1, seed=2)
    x = np.ones((1, 2))
    h0 = np.array([[0.3, -0.2, 0.9]])
    c0 = np.array([[1.5, -0.5, 0.25]]) if cell.startswith("lstm") else None
    trace = run_trace(cell, params, x, h0=h0, c0=c0)
    zero = run_trace(cell, params, x)
    h_list, c_list = [0.3, -0.2, 0.9], [1.5, -0.5, 0.25]
    want = scalar_reference.step(cell, params, 0, [1.0, 1.0], h_list, c_list)
    np.testing.assert_allclose(trace.layers[0]["h"][0], want["h"], atol=1e-14)
    assert not np.allclose(trace.layers[0]["h"], zero.layers[0]["h"])
    if c0 is not None:
        np.testing.assert_allclose(trace.layers[0]["f_c_prev"][0], np.multiply(want["f"], c_list))


def test_final_states_are_the_last_step() -> None:
    params = init_params("lstm", 2, 3, 2, seed=9)
    trace = run_trace("lstm", params, np.random.default_rng(0).standard_normal((5, 2)))
    assert trace.c_n is not None
    for k in range(2):
        np.testing.assert_array_equal(trace.h_n[k], trace.layers[k]["h"][-1])
        np.testing.assert_array_equal(trace.c_n[k], trace.layers[k]["c"][-1])
    assert run_trace("gru", init_params("gru", 2, 3), np.ones((2, 2))).c_n is None
