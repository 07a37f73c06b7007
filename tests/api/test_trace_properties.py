"""Well-formed requests of any shape are answered 200 with the engine's numbers (the schema
fuzzer mostly reaches the error paths: its random inputs rarely fit the model's width)."""

from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import CELLS, TRACE_FIELDS, init_params, run_trace

finite = st.floats(-50, 50, allow_nan=False, width=32)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    cell = draw(st.sampled_from(CELLS))
    d, h, layers = draw(st.integers(1, 5)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    steps = draw(st.integers(1, 12))
    inputs = draw(st.lists(st.lists(finite, min_size=d, max_size=d), min_size=steps,
                           max_size=steps))  # fmt: skip
    model = {"cell": cell, "input_size": d, "hidden_size": h, "num_layers": layers,
             "seed": draw(st.integers(0, 2**32 - 1))}  # fmt: skip
    return {
        "model": model,
        "inputs": inputs,
        "dtype": draw(st.sampled_from(["float32", "float64"])),
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=requests())
def test_any_well_formed_trace_is_200_and_equals_the_engine(
    client: TestClient, body: dict[str, Any]
) -> None:
    res = client.post("/api/v1/trace", json=body)
    assert res.status_code == 200, res.text
    got = res.json()
    m = body["model"]
    expected = run_trace(
        m["cell"],
        init_params(m["cell"], m["input_size"], m["hidden_size"], m["num_layers"], m["seed"]),
        np.asarray(body["inputs"]),
        dtype=np.dtype(body["dtype"]),
    )
    assert got["steps"] == len(body["inputs"]) and len(got["layers"]) == m["num_layers"]
    tol = 1e-12 if body["dtype"] == "float64" else 5e-6 + 1e-12
    for layer, want in zip(got["layers"], expected.layers, strict=True):
        assert tuple(layer) == TRACE_FIELDS[m["cell"]]
        for field, values in layer.items():
            np.testing.assert_allclose(values, want[field], atol=tol, rtol=1e-6)
