"""The display encoder writes exactly np.round(a, 5), in valid JSON, for any finite array."""

import json

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.api.fastjson import rounded_rows, rounded_vector


@pytest.mark.parametrize(
    "values",
    [
        [0.0, -0.0, 1e-9, -1e-9, 0.5, -0.5, 1.0, -1.0],
        [0.000005, 0.000015, -0.000025, 0.123455, 2.5e-6],  # ties and near-ties
        [9.999996, -9.999996, 10.0, 99.5, 1234.56789, -9998.99999],
        [0.1, 0.2, 0.3, 1 / 3, -2 / 3, np.pi, -np.e],
    ],
)
def test_rows_parse_to_exactly_the_rounded_values(values: list[float]) -> None:
    a = np.array([values, values[::-1]])
    parsed = np.array(json.loads(rounded_rows(a)))
    np.testing.assert_array_equal(parsed, np.round(a, 5))


def test_vector_and_single_number() -> None:
    assert json.loads(rounded_vector(np.array([1.5, -2.25]))) == [1.5, -2.25]
    assert json.loads(rounded_rows(np.array([[3.0]]))) == [[3.0]]


def test_large_or_non_finite_arrays_fall_back_to_orjson() -> None:
    a = np.array([[1e5, 2.0], [np.nan, -np.inf]])
    assert rounded_rows(a) == orjson.dumps(np.round(a, 5), option=orjson.OPT_SERIALIZE_NUMPY)


def test_empty_or_3d_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="2-d"):
        rounded_rows(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="2-d"):
        rounded_rows(np.zeros((2, 2, 2)))


@settings(max_examples=300, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 9)),
        elements=st.floats(-20000, 20000, allow_nan=False),
    )
)
def test_any_finite_array_round_trips(a: np.ndarray) -> None:
    parsed = np.array(json.loads(rounded_rows(a)))
    np.testing.assert_array_equal(parsed, np.round(a, 5))


@settings(max_examples=100, deadline=None)
@given(arrays(np.float32, st.integers(1, 40), elements=st.floats(-1, 1, width=32)))
def test_float32_gate_values_round_trip(a: np.ndarray) -> None:
    parsed = np.array(json.loads(rounded_vector(a)))
    np.testing.assert_array_equal(parsed, np.round(a.astype(np.float64), 5))


@pytest.mark.parametrize("scale", [0.9, 9.0, 900.0, 9000.0])
def test_arrays_of_many_row_blocks_round_trip(scale: float) -> None:
    """Long arrays are written block by block; no block may overwrite its neighbour."""
    a = np.random.default_rng(3).uniform(-scale, scale, (5000, 9))
    parsed = np.array(json.loads(rounded_rows(a)))
    np.testing.assert_array_equal(parsed, np.round(a, 5))
