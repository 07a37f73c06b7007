"""Random initialisation as PyTorch does it, and validation of every weight's shape."""

import numpy as np
import pytest

from app.engine import CELLS, EngineError, LayoutError, init_params, model_sizes


@pytest.mark.parametrize("cell", CELLS)
def test_init_params_has_torch_names_shapes_and_bounds(cell: str) -> None:
    params = init_params(cell, 5, 8, 3, seed=1)
    rows = {"lstm": 4, "lstm_peephole": 4, "lstm_coupled": 3, "gru": 3}.get(cell, 1) * 8
    assert params["weight_ih_l0"].shape == (rows, 5)
    assert params["weight_ih_l2"].shape == (rows, 8)
    assert params["weight_hh_l1"].shape == (rows, 8)
    assert params["bias_ih_l2"].shape == params["bias_hh_l2"].shape == (rows,)
    if cell == "lstm_peephole":
        assert {params[f"weight_c{g}_l1"].shape for g in "ifo"} == {(8,)}
    values = np.concatenate([v.ravel() for v in params.values()])
    assert values.dtype == np.float64
    assert np.abs(values).max() <= 1 / np.sqrt(8)
    assert np.abs(values).max() > 0.9 / np.sqrt(8)  # fills the range, not a narrower one
    assert model_sizes(cell, params) == (5, 8, 3)


def test_init_params_is_reproducible_per_seed() -> None:
    a, b, c = (init_params("gru", 3, 4, seed=s) for s in (7, 7, 8))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["weight_hh_l0"], c["weight_hh_l0"])


def test_init_params_refuses_empty_sizes() -> None:
    with pytest.raises(LayoutError, match="hidden_size is 0, must be at least 1"):
        init_params("lstm", 3, 0)


def test_unknown_cell_is_refused_with_the_choices() -> None:
    with pytest.raises(EngineError, match="unknown cell 'lstmx'; expected one of lstm, gru"):
        init_params("lstmx", 3, 4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"weight_ih_l0": np.zeros((12, 3))}, "weight_ih_l0 has shape (12, 3), expected (16, 3)"),
        ({"bias_hh_l1": np.zeros(15)}, "bias_hh_l1 has shape (15,), expected (16,)"),
        ({"weight_hh_l1": np.zeros((16, 3))}, "weight_hh_l1 has shape (16, 3), expected (16, 4)"),
        ({"weight_ci_l0": np.zeros(4)}, "unexpected tensor weight_ci_l0"),
        ({"weight_ih_l0": np.zeros(16)}, "weight_ih_l0 has shape (16,), expected a 2-d matrix"),
    ],
)
def test_model_sizes_names_the_bad_tensor(change: dict[str, np.ndarray], message: str) -> None:
    params = init_params("lstm", 3, 4, 2) | change
    with pytest.raises(LayoutError) as err:
        model_sizes("lstm", params)
    assert message in str(err.value)


def test_model_sizes_names_a_missing_tensor() -> None:
    params = init_params("lstm_peephole", 3, 4, 2)
    del params["weight_co_l1"]
    with pytest.raises(LayoutError, match=r"missing tensor weight_co_l1 \(expected shape \(4,\)\)"):
        model_sizes("lstm_peephole", params)
