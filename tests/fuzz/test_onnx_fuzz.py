"""Hypothesis mutations of valid .onnx files (app.store.onnx_reader + app.engine.layouts_onnx):
every input either converts or raises a store error (413/422) or a LayoutError (422)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import EngineError
from app.engine.layouts_onnx import convert_onnx
from app.store.errors import StoreError
from app.store.onnx_reader import read_onnx
from tests.fuzz.test_upload_fuzz import mutate
from tests.store.onnx_graphs import onnx_or_skip, recurrent_model, serialized


@pytest.fixture(scope="module")
def onnx_seeds() -> list[bytes]:
    onnx_or_skip()
    return [
        serialized(recurrent_model("LSTM", layers=2, readout=3, peepholes=True)),
        serialized(recurrent_model("GRU", direction="bidirectional", readout=3)),
        serialized(recurrent_model("RNN", time_major=False)),
    ]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.integers(0, 2),
    edits=st.lists(
        st.tuples(st.integers(0, 1 << 16), st.integers(0, 2), st.binary(min_size=1, max_size=8)),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_onnx_files_convert_or_are_refused(
    onnx_seeds: list[bytes], which: int, edits: list[tuple[int, int, bytes]]
) -> None:
    blob = mutate(onnx_seeds[which], edits)
    try:
        model = read_onnx(blob, max_tensors=64, max_elements=1 << 20)
        convert_onnx(model.ops, model.readout)
    except (StoreError, EngineError):
        pass
