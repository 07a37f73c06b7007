"""Interventions: a clamped gate holds its value and everything downstream is recomputed."""

import numpy as np
import pytest

from app.engine import GATES, Clamp, EngineError, init_params, run_trace
from tests.engine import scalar_reference

X = np.random.default_rng(7).standard_normal((10, 3))


def test_forget_gate_clamp_keeps_cell_state_and_recomputes_h() -> None:
    params = init_params("lstm", 3, 6, seed=1)
    clamp = Clamp("f", 1.0, units=range(4), steps=range(5, 10))
    layer = run_trace("lstm", params, X, clamps=[clamp]).layers[0]
    free = run_trace("lstm", params, X).layers[0]
    np.testing.assert_array_equal(layer["f"][5:, :4], 1.0)
    # c = 1 * c_prev + i * g for the clamped units, from the trace's own i and g
    np.testing.assert_allclose(
        layer["c"][5:, :4], layer["c"][4:-1, :4] + layer["i"][5:, :4] * layer["g"][5:, :4]
    )
    np.testing.assert_allclose(layer["f_c_prev"][5:, :4], layer["c"][4:-1, :4])
    np.testing.assert_allclose(layer["h"], layer["o"] * np.tanh(layer["c"]), atol=1e-15)
    # before the clamp nothing changes; after it the free units follow through h
    for field in layer:
        np.testing.assert_array_equal(layer[field][:5], free[field][:5])
    assert not np.allclose(layer["f"][6:, 4:], free["f"][6:, 4:])


@pytest.mark.parametrize(
    ("cell", "field"), [(c, f) for c in GATES for f in GATES[c]], ids=lambda v: str(v)
)
def test_clamped_trace_equals_scalar_oracle(cell: str, field: str) -> None:
    params = init_params(cell, 3, 4, 2, seed=3)
    value = 0.25 if field in ("g", "n") else 0.9
    clamps = [
        Clamp(field, value, units=[1, 3], steps=[2, 3, 7]),
        Clamp(field, 0.0 if field in "rzifo" else -1.0, units=[0], steps=[4], layer=1),
    ]
    trace = run_trace(cell, params, X, clamps=clamps)
    oracle_clamps = {(0, t): {field: {1: value, 3: value}} for t in (2, 3, 7)}
    oracle_clamps[(1, 4)] = {field: {0: 0.0 if field in "rzifo" else -1.0}}
    want = scalar_reference.trace(cell, params, X, 2, 4, oracle_clamps)
    for k in range(2):
        for name, value_k in trace.layers[k].items():
            np.testing.assert_allclose(
                value_k, want[k][name], rtol=0, atol=1e-13, err_msg=f"{k}/{name}"
            )
    np.testing.assert_array_equal(trace.layers[0][field][[2, 3, 7]][:, [1, 3]], value)


def test_coupled_input_gate_follows_a_clamped_forget_gate() -> None:
    params = init_params("lstm_coupled", 3, 4, seed=2)
    layer = run_trace("lstm_coupled", params, X, clamps=[Clamp("f", 0.2, units=[2])]).layers[0]
    np.testing.assert_array_equal(layer["f"][:, 2], 0.2)
    np.testing.assert_allclose(layer["i"][:, 2], 0.8)


def test_gru_update_gate_clamp_freezes_h() -> None:
    params = init_params("gru", 3, 4, seed=2)
    layer = run_trace("gru", params, X, clamps=[Clamp("z", 1.0, units=[0, 1], steps=range(3, 10))])
    h = layer.layers[0]["h"]
    # h = (h_prev - n) * 1 + n: h_prev up to one rounding per step
    np.testing.assert_allclose(h[3:, :2], np.broadcast_to(h[2, :2], (7, 2)), rtol=0, atol=1e-15)


def test_clamp_reaches_every_batch_row_and_only_its_layer() -> None:
    params = init_params("lstm", 3, 4, 2, seed=4)
    xb = np.stack([X, -X, 0.5 * X], axis=1)
    clamped = run_trace("lstm", params, xb, clamps=[Clamp("o", 0.0, layer=1)])
    free = run_trace("lstm", params, xb)
    np.testing.assert_array_equal(clamped.layers[1]["o"], 0.0)
    np.testing.assert_array_equal(clamped.layers[1]["h"], 0.0)
    for field in free.layers[0]:
        np.testing.assert_array_equal(clamped.layers[0][field], free.layers[0][field])


def test_later_clamp_wins_where_two_overlap() -> None:
    params = init_params("lstm", 3, 4, seed=4)
    clamps = [Clamp("i", 0.1, units=[0, 1]), Clamp("i", 0.7, units=[1], steps=[0])]
    layer = run_trace("lstm", params, X, clamps=clamps).layers[0]
    assert layer["i"][0, 0] == 0.1 and layer["i"][0, 1] == 0.7 and layer["i"][1, 1] == 0.1


@pytest.mark.parametrize(
    ("cell", "clamp", "message"),
    [
        ("lstm", Clamp("c", 0.5), "'c' is not a clampable gate of lstm"),
        ("rnn_tanh", Clamp("h", 0.5), "this cell has no gates"),
        ("lstm", Clamp("f", 1.5), "gate f takes values from 0 to 1"),
        ("lstm", Clamp("g", -1.5), "gate g takes values from -1 to 1"),
        ("gru", Clamp("z", float("nan")), "clamps[0].value is nan"),
        ("lstm", Clamp("f", 1.0, units=[4]), "clamps[0].units contains 4; units run from 0 to 3"),
        ("lstm", Clamp("f", 1.0, steps=[-1]), "clamps[0].steps contains -1; steps run from 0"),
        ("lstm", Clamp("f", 1.0, steps=[10]), "steps run from 0 to 9"),
        ("lstm", Clamp("f", 1.0, layer=1), "clamps[0].layer is 1; layers run from 0 to 0"),
        ("lstm", Clamp("f", 1.0, units=[2**70]), "clamps[0].units must be whole numbers below 4"),
    ],
)
def test_bad_clamps_are_refused_by_name(cell: str, clamp: Clamp, message: str) -> None:
    with pytest.raises(EngineError) as err:
        run_trace(cell, init_params(cell, 3, 4, seed=0), X, clamps=[clamp])
    assert message in str(err.value)
