"""The .onnx reader and converter on hand-built graphs: the ONNX reference evaluator's own
LSTM/GRU/RNN (onnx.reference, tests only) against the engine, and hostile files."""

from typing import Any

import numpy as np
import pytest

from app.engine import LayoutError, convert_keras, run_trace
from app.engine.layouts_onnx import convert_onnx
from app.store import FileTooLarge, InvalidFile
from app.store.onnx_reader import read_onnx
from tests.store.onnx_graphs import onnx_or_skip, recurrent_model, serialized, weights

LIMITS = {"max_tensors": 64, "max_elements": 1 << 20}


def _read(model: Any) -> tuple[str, Any]:
    onnx_model = read_onnx(serialized(model), **LIMITS)
    return convert_onnx(onnx_model.ops, onnx_model.readout)


def _reference(model: Any, x: np.ndarray) -> np.ndarray:
    from onnx.reference import ReferenceEvaluator

    return np.asarray(ReferenceEvaluator(model).run(None, {"X": x.astype(np.float32)})[0])


X = np.random.default_rng(5).uniform(-1, 1, (6, 1, 2)).astype(np.float32)


@pytest.mark.parametrize(
    ("op", "direction", "layers", "peepholes", "cell"),
    [
        ("LSTM", "forward", 1, False, "lstm"),
        ("LSTM", "forward", 2, True, "lstm_peephole"),
        ("LSTM", "bidirectional", 2, False, "lstm"),
        ("GRU", "bidirectional", 1, False, "gru"),
        ("GRU", "forward", 2, False, "gru"),
        ("RNN", "bidirectional", 2, False, "rnn_tanh"),
    ],
)
def test_hand_built_graph_traces_like_the_onnx_reference(
    op: str, direction: str, layers: int, peepholes: bool, cell: str
) -> None:
    model = recurrent_model(op, direction=direction, layers=layers, readout=4, peepholes=peepholes)
    found, converted = _read(model)
    assert found == cell and converted.readout is not None
    trace = run_trace(cell, converted.params, X[:, 0].astype(np.float64), readout=converted.readout)
    assert trace.logits is not None
    np.testing.assert_allclose(trace.logits, _reference(model, X)[:, 0], atol=1e-5)


def test_relu_rnn_becomes_rnn_relu() -> None:
    model = recurrent_model("RNN", attrs={"activations": ["Relu"]})
    found, converted = _read(model)
    trace = run_trace(found, converted.params, X[:, 0].astype(np.float64))
    assert found == "rnn_relu"
    w = weights("RNN", 2, 3)  # the ONNX spec's Ht = Relu(Xt W^T + Ht-1 R^T + Wb + Rb)
    h = np.zeros(3)
    for t, xt in enumerate(X[:, 0].astype(np.float64)):
        h = np.maximum(0, w["W"][0] @ xt + w["R"][0] @ h + w["B"][0][:3] + w["B"][0][3:])
        np.testing.assert_allclose(trace.layers[0]["h"][t], h, atol=1e-6)


def test_keras_graph_as_tf2onnx_writes_it_equals_the_keras_weights() -> None:
    """tf2onnx (which needs TensorFlow, not installable here) writes a Keras LSTM as a batch-major
    input, Transpose, LSTM, Squeeze, Transpose; its W is Keras's kernel.T in ONNX gate order."""
    model = recurrent_model("LSTM", time_major=False, readout=4)
    found, converted = _read(model)
    onnx = onnx_or_skip()
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    ioft = inits["W0"][0], inits["R0"][0], inits["B0"][0]
    to_ifco = [0, 2, 3, 1]  # Keras's gates are i, f, c, o

    def keras(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a[k * 3 : (k + 1) * 3] for k in to_ifco])

    keras_weights = {
        "lstm/kernel": keras(ioft[0]).T,
        "lstm/recurrent_kernel": keras(ioft[1]).T,
        "lstm/bias": keras(ioft[2][:12] + ioft[2][12:]),
    }
    from_keras = convert_keras("lstm", keras_weights)
    want = run_trace("lstm", from_keras.params, X[:, 0].astype(np.float64))
    got = run_trace(found, converted.params, X[:, 0].astype(np.float64))
    for field in ("i", "f", "g", "o", "c", "h"):
        np.testing.assert_allclose(got.layers[0][field], want.layers[0][field], atol=1e-6)
    reference = _reference(model, X.transpose(1, 0, 2))[0]
    assert got.logits is None and converted.readout is not None
    got = run_trace(found, converted.params, X[:, 0].astype(np.float64), readout=converted.readout)
    np.testing.assert_allclose(got.logits, reference, atol=1e-5)


def test_upload_account_names_node_initializer_layer_and_direction() -> None:
    _, converted = _read(recurrent_model("GRU", direction="bidirectional", readout=4))
    assert "W0 (node 'gru0' (GRU) W) -> weight_ih_l0_reverse (layer 0 backward)" in converted.used
    assert any(u.startswith("head_w, head_b") for u in converted.used)


@pytest.mark.parametrize(
    ("op", "attrs", "says"),
    [
        ("GRU", {"linear_before_reset": 0}, "linear_before_reset=0"),
        ("LSTM", {"direction": "reverse"}, "direction 'reverse'"),
        ("LSTM", {"clip": 3.0}, "clip"),
        ("LSTM", {"input_forget": 1}, "input_forget"),
        ("LSTM", {"activations": ["Sigmoid", "Relu", "Tanh"]}, "activations"),
        ("RNN", {"activations": ["Sigmoid"]}, "activations"),
    ],
)
def test_attributes_the_engine_cannot_do_are_refused_by_name(
    op: str, attrs: dict[str, Any], says: str
) -> None:
    direction = attrs.pop("direction", "forward")
    with pytest.raises(LayoutError, match=says) as info:
        _read(recurrent_model(op, direction=direction, attrs=attrs))
    assert f"{op.lower()}0" in str(info.value)  # the node's name


def _hostile(change: Any) -> bytes:
    model = recurrent_model("LSTM", readout=4)
    change(model)
    return serialized(model)


def test_external_data_is_refused() -> None:
    def external(model: Any) -> None:
        t = model.graph.initializer[0]
        t.ClearField("raw_data")
        t.data_location = 1
        entry = t.external_data.add()
        entry.key, entry.value = "location", "/etc/passwd"

    with pytest.raises(InvalidFile, match="external file"):
        read_onnx(_hostile(external), **LIMITS)


def test_huge_dims_are_refused_before_anything_is_allocated() -> None:
    def huge(model: Any) -> None:
        t = model.graph.initializer[0]
        del t.dims[:]
        t.dims.extend([1 << 20, 1 << 20, 1 << 20])

    with pytest.raises(FileTooLarge, match="at most"):
        read_onnx(_hostile(huge), **LIMITS)


def test_dims_that_do_not_fit_the_bytes_are_refused() -> None:
    def lie(model: Any) -> None:
        model.graph.initializer[0].dims[0] = 2

    with pytest.raises(InvalidFile, match="need"):
        read_onnx(_hostile(lie), **LIMITS)


def test_wrong_weight_shapes_are_refused() -> None:
    onnx = onnx_or_skip()

    def wrong(model: Any) -> None:
        model.graph.initializer[1].CopyFrom(
            onnx.numpy_helper.from_array(np.zeros((1, 12, 5), np.float32), "R0")
        )

    blob = _hostile(wrong)
    model = read_onnx(blob, **LIMITS)
    with pytest.raises(LayoutError, match="do not fit"):
        convert_onnx(model.ops, model.readout)


def test_nan_weights_are_refused() -> None:
    onnx = onnx_or_skip()

    def nan(model: Any) -> None:
        w = np.zeros((1, 12, 2), np.float32)
        w[0, 3, 1] = np.nan
        model.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(w, "W0"))

    model = read_onnx(_hostile(nan), **LIMITS)
    with pytest.raises(LayoutError, match="W0 holds NaN"):
        convert_onnx(model.ops, model.readout)


def test_a_cycle_is_refused() -> None:
    def cycle(model: Any) -> None:
        model.graph.node[0].input[0] = "out"  # the LSTM reads the graph's own output

    with pytest.raises(InvalidFile, match="cycle"):
        read_onnx(_hostile(cycle), **LIMITS)


def test_an_unknown_op_on_the_path_is_named() -> None:
    onnx = onnx_or_skip()

    def relu(model: Any) -> None:
        model.graph.node.insert(2, onnx.helper.make_node("Relu", ["S0"], ["r"], name="act"))
        model.graph.node[3].input[0] = "r"

    with pytest.raises(InvalidFile, match="node 'act' \\(Relu\\)"):
        read_onnx(_hostile(relu), **LIMITS)


def test_too_many_nodes_and_initializers_are_refused() -> None:
    with pytest.raises(FileTooLarge, match="initializers"):
        read_onnx(
            serialized(recurrent_model("LSTM", layers=3)), max_tensors=4, max_elements=1 << 20
        )


@pytest.mark.parametrize("blob", [b"", b"\x00\x01garbage\xff" * 10, b"\x0a\xff\xff\xff\xff\x0f"])
def test_bytes_that_are_no_onnx_model_are_refused(blob: bytes) -> None:
    onnx_or_skip()
    with pytest.raises((InvalidFile, FileTooLarge)):
        read_onnx(blob, **LIMITS)


def test_weights_computed_in_the_graph_are_refused() -> None:
    onnx = onnx_or_skip()

    def computed(model: Any) -> None:
        model.graph.node.insert(0, onnx.helper.make_node("Identity", ["W0"], ["w_id"], name="id"))
        model.graph.node[1].input[1] = "w_id"

    with pytest.raises(InvalidFile, match="computed in the graph"):
        read_onnx(_hostile(computed), **LIMITS)
