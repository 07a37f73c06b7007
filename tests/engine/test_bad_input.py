"""Bad input is refused with a message naming the field, its value or shape, and the limit."""

from typing import Any

import numpy as np
import pytest

from app.engine import (
    EngineError,
    Readout,
    ShapeError,
    init_params,
    run_trace,
)

PARAMS = init_params("lstm", 3, 4, 2, seed=0)
X = np.zeros((5, 3))


def _error(**kwargs: Any) -> str:
    args = {"cell": "lstm", "params": PARAMS, "x": X} | kwargs
    with pytest.raises(EngineError) as err:
        run_trace(args.pop("cell"), args.pop("params"), args.pop("x"), **args)
    return str(err.value)


def test_trace_rejects_nan_input() -> None:
    x = X.copy()
    x[2, 1] = np.nan
    assert "x[2, 1] is nan; values must be finite" in _error(x=x)


def test_trace_rejects_infinite_and_huge_input() -> None:
    assert "x[0, 0]" in _error(x=np.full((2, 3), np.inf))
    assert "magnitude at most 1e+12" in _error(x=np.full((2, 3), 1e13))


def test_trace_rejects_nan_weights_by_name() -> None:
    params = {k: v.copy() for k, v in PARAMS.items()}
    params["bias_hh_l1"][3] = np.nan
    assert "bias_hh_l1[3]" in _error(params=params)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": np.zeros((5, 2))}, "x has shape (5, 2), expected (steps, 3)"),
        ({"x": np.zeros((5, 2, 4))}, "x has shape (5, 2, 4), expected (steps, batch, 3)"),
        ({"x": np.zeros(3)}, "x has shape (3,), expected (steps, 3) or (steps, batch, 3)"),
        ({"x": np.zeros((0, 3))}, "need at least one step"),
        ({"h0": np.zeros((1, 4))}, "h0 has shape (1, 4), expected (2, 4)"),
        ({"c0": np.zeros((2, 5))}, "c0 has shape (2, 5), expected (2, 4)"),
        (
            {"x": np.zeros((5, 2, 3)), "h0": np.zeros((2, 4))},
            "h0 has shape (2, 4), expected (2, 2, 4)",
        ),
        ({"x": [[1, "a", 2]]}, "x is not an array of numbers"),
        ({"cell": "lsmt"}, "unknown cell 'lsmt'"),
        ({"dtype": np.int32}, "dtype int32 is not supported; use float32 or float64"),
        ({"dtype": "float16"}, "dtype float16 is not supported"),
        ({"fields": ["h", "q"]}, "unknown field 'q' for lstm"),
        (
            {"readout": Readout(np.zeros((3, 5)), np.zeros(3))},
            "readout.weight has shape (3, 5), expected (vocabulary, 4)",
        ),
        (
            {"readout": Readout(np.zeros((3, 4)), np.zeros(2))},
            "readout.bias has shape (2,), expected (3,)",
        ),
    ],
)
def test_trace_names_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    assert message in _error(**kwargs)


def test_shape_errors_are_shape_errors() -> None:
    with pytest.raises(ShapeError):
        run_trace("lstm", PARAMS, np.zeros((5, 2)))


def test_c0_for_a_cell_without_cell_state_is_refused() -> None:
    gru = init_params("gru", 3, 4)
    with pytest.raises(EngineError, match="c0 was given but gru has no cell state"):
        run_trace("gru", gru, X, c0=np.zeros((1, 4)))


def test_exploding_relu_rnn_is_reported_not_returned_as_inf() -> None:
    params = init_params("rnn_relu", 3, 4)
    params["weight_hh_l0"] = np.full((4, 4), 1e11)
    with pytest.raises(EngineError, match="rnn_relu layer 0: h overflowed at step"):
        run_trace("rnn_relu", params, np.ones((40, 3)))


def test_fields_selects_a_subset_in_the_cells_order() -> None:
    trace = run_trace("lstm", PARAMS, X, fields=["h", "f"])
    assert [list(layer) for layer in trace.layers] == [["f", "h"], ["f", "h"]]
