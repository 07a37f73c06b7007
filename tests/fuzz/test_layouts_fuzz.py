"""Hypothesis against the weight-layout converters (app.engine.layouts_torch/_keras): files of
plausible names with random shapes, cells and vocabularies. A converter must either account
for every tensor (used or ignored, exactly once) and give a model that traces, or refuse with
an EngineError, which the API answers as a 422: never any other exception (a 500)."""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import (
    CELLS,
    EngineError,
    convert_keras,
    convert_torch,
    init_params,
    run_trace,
    to_keras,
)

TORCH_NAMES = [
    "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
    "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.weight_ci_l0", "weight_ih_l0",
    "weight_hh_l0", "cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "emb.weight",
    "emb.scale", "head.weight", "head.bias", "fc.weight", "fc.bias", "ln.weight", "ln.bias",
    "other.weight_ih_l0", "rnn.weight_ih_l0_reverse", "rnn.weight_hr_l0", "weight", "bias",
]  # fmt: skip
KERAS_NAMES = [
    "lstm/kernel", "lstm/recurrent_kernel", "lstm/bias", "lstm_1/kernel",
    "lstm_1/recurrent_kernel", "rnn/lstm_cell/kernel", "rnn/lstm_cell/recurrent_kernel",
    "rnn/lstm_cell_1/kernel", "rnn/lstm_cell_1/recurrent_kernel", "embedding/embeddings",
    "dense/kernel", "dense/bias", "dense_1/kernel", "norm/gamma", "norm/beta",
    "lstm/input_gate_peephole_weights", "bidirectional/forward_lstm/kernel",
    "m1/lstm/kernel", "m1/lstm/recurrent_kernel", "m10/lstm/kernel",
]  # fmt: skip
DIMS = st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16])
EXAMPLES = int(os.environ.get("LAYOUT_FUZZ_EXAMPLES", "400"))  # 4000 found nothing more
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def weight_files(draw: st.DrawFn, layout: str) -> tuple[str, dict[str, np.ndarray]]:
    """(cell, file): a sound model of the cell (sometimes with a tensor dropped or misshapen)
    beside random extra tensors of plausible names and random shapes."""
    cell = draw(st.sampled_from(CELLS))
    D, H, L = draw(DIMS), draw(DIMS), draw(st.sampled_from([1, 1, 2]))
    params = init_params(cell, D, H, L, seed=0)
    if layout == "keras":
        params = {k: (v * 0 if k.startswith("bias_hh") else v) for k, v in params.items()}
        base = to_keras(cell, params, prefix=draw(st.sampled_from(["", "m1/"])))
    else:
        base = {draw(st.sampled_from(["rnn.", "", "enc."])) + k: v for k, v in params.items()}
    files = dict(base)
    if draw(st.booleans()):  # break the model: drop a tensor or change its shape
        victim = draw(st.sampled_from(sorted(files)))
        if draw(st.booleans()):
            del files[victim]
        else:
            files[victim] = np.zeros(tuple(draw(st.lists(DIMS, max_size=3))))
    names = TORCH_NAMES if layout == "torch" else KERAS_NAMES
    for name in draw(st.lists(st.sampled_from(names), max_size=6, unique=True)):
        shape = tuple(draw(st.lists(st.sampled_from([D, H, 5, 7]), max_size=2)))
        files[name] = np.random.default_rng(len(files)).uniform(-1, 1, shape)
    return cell, files


def _check(converted_or_error: object, tensors: dict[str, np.ndarray], cell: str) -> None:
    if isinstance(converted_or_error, EngineError):
        return
    got = converted_or_error
    used, ignored = set(got.used), set(got.ignored)  # type: ignore[attr-defined]
    assert not used & ignored, used & ignored
    assert used | ignored == set(tensors), set(tensors) ^ (used | ignored)
    D = got.params["weight_ih_l0"].shape[1]  # type: ignore[attr-defined]
    x = np.random.default_rng(0).uniform(-1, 1, (3, D))
    trace = run_trace(cell, got.params, x, readout=got.readout)  # type: ignore[attr-defined]
    assert all(np.isfinite(v).all() for v in trace.layers[0].values())


def _convert(convert: object, cell: str, tensors: dict, prefix: str | None, vocab: int | None):  # type: ignore[no-untyped-def]
    try:
        return convert(cell, tensors, prefix, vocab)  # type: ignore[operator]
    except EngineError as exc:
        return exc


@FUZZ
@given(
    file=weight_files("torch"),
    prefix=st.sampled_from([None, None, None, "rnn", ".", "enc", "cell", "nope"]),
    vocab=st.none() | st.sampled_from([5, 7]),
)
def test_torch_files_convert_with_every_tensor_accounted_or_are_refused(
    file: tuple[str, dict[str, np.ndarray]], prefix: str | None, vocab: int | None
) -> None:
    cell, tensors = file
    _check(_convert(convert_torch, cell, tensors, prefix, vocab), tensors, cell)


@FUZZ
@given(
    file=weight_files("keras"),
    prefix=st.sampled_from([None, None, None, "m1", "rnn", "."]),
    vocab=st.none() | st.sampled_from([5, 7]),
)
def test_keras_files_convert_with_every_tensor_accounted_or_are_refused(
    file: tuple[str, dict[str, np.ndarray]], prefix: str | None, vocab: int | None
) -> None:
    cell, tensors = file
    _check(_convert(convert_keras, cell, tensors, prefix, vocab), tensors, cell)
