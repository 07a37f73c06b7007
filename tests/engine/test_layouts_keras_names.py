"""Keras names: which groups are layers, in which order, under which prefix; what is refused."""

import re
from collections.abc import Callable

import numpy as np
import pytest

from app.engine import LayoutError, from_keras, init_params, to_keras


def _keras(cell: str, d: int, h: int, layers: int, seed: int = 0) -> tuple[dict, dict]:
    """(engine params, their Keras weights named base, base_1, ...). Keras keeps one bias,
    b_ih + b_hh (the GRU keeps both), so b_hh is zero here to make the round trip exact."""
    params = init_params(cell, d, h, layers, seed=seed)
    if cell != "gru":
        params |= {n: np.zeros_like(v) for n, v in params.items() if n.startswith("bias_hh")}
    return params, to_keras(cell, params)


def _renamed(tensors: dict, rename: Callable[[str], str]) -> dict:
    return {rename(name): value for name, value in tensors.items()}


def _assert_same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value)


# 1. layer order comes from the names only when they tell it


@pytest.mark.parametrize(
    ("cell", "rename"),
    [
        ("lstm", lambda n: n),  # lstm, lstm_1
        ("gru", lambda n: f"sequential/{n}"),  # sequential/gru, sequential/gru_1
        ("lstm", lambda n: n.replace("lstm", "enc")),  # any base: enc, enc_1
    ],
)
def test_numbered_layer_names_give_the_order(cell: str, rename: Callable[[str], str]) -> None:
    params, keras = _keras(cell, 3, 4, 2, seed=1)
    got, _ = from_keras(cell, dict(reversed(_renamed(keras, rename).items())))
    _assert_same(got, params)


@pytest.mark.parametrize("d", [3, 4])  # D != H and D == H (the swap was silent then)
def test_layers_whose_names_do_not_tell_the_order_are_refused(d: int) -> None:
    _, keras = _keras("lstm", d, 4, 2)
    tensors = _renamed(
        keras, lambda n: n.replace("lstm_1/", "decoder/").replace("lstm/", "encoder/")
    )
    message = (
        "2 recurrent layers (encoder, decoder) whose names do not tell their order; upload one "
        "layer with prefix, or name the layers base, base_1, base_2, ... in model order"
    )
    with pytest.raises(LayoutError, match=re.escape(message)) as err:
        from_keras("lstm", tensors)
    assert err.value.field is None


def test_a_later_layer_with_the_input_rows_is_called_out_of_order() -> None:
    _, keras = _keras("lstm", 3, 4, 2)
    swap = {"lstm/": "lstm_1/", "lstm_1/": "lstm/"}
    tensors = _renamed(keras, lambda n: swap[n.split("/")[0] + "/"] + n.split("/")[1])
    message = (
        "lstm_1/kernel has 3 rows, like a first layer's input, but is layer 1; layer 0's kernel "
        "lstm/kernel has 4 rows (the units): the layers seem out of order (taken as lstm, lstm_1)"
    )
    with pytest.raises(LayoutError, match=re.escape(message)):
        from_keras("lstm", tensors)


# 2. Bidirectional wrappers


@pytest.mark.parametrize("wrapper", ["bidirectional", "bidirectional_3", "birnn"])
def test_bidirectional_layers_are_refused(wrapper: str) -> None:
    _, keras = _keras("lstm", 3, 4, 2)
    direction = {"lstm": "forward_lstm", "lstm_1": "backward_lstm"}
    tensors = _renamed(
        keras, lambda n: f"{wrapper}/{direction[n.split('/')[0]]}/lstm_cell/{n.split('/')[1]}:0"
    )
    message = f"{wrapper}/forward_lstm/lstm_cell/recurrent_kernel:0: bidirectional layers are not"
    with pytest.raises(LayoutError, match=re.escape(message)):
        from_keras("lstm", tensors)


# 3. a prefix matches whole path components


@pytest.mark.parametrize("prefix", ["m1", "m1/"])
def test_prefix_m1_does_not_take_m10(prefix: str) -> None:
    params, keras = _keras("lstm", 3, 4, 1, seed=2)
    _, other = _keras("lstm", 3, 4, 2, seed=3)
    tensors = _renamed(other, lambda n: f"m10/{n}") | _renamed(keras, lambda n: f"m1/{n}")
    got, _ = from_keras("lstm", tensors, prefix=prefix)
    _assert_same(got, params)


def test_prefix_with_dots_and_a_prefix_matching_no_layer() -> None:
    params, keras = _keras("gru", 3, 4, 1, seed=4)
    tensors = _renamed(keras, lambda n: "m1." + n.replace("/", "."))
    got, _ = from_keras("gru", tensors, prefix="m1")
    _assert_same(got, params)
    with pytest.raises(
        LayoutError, match=re.escape("no recurrent_kernel tensor under prefix 'm'")
    ) as err:
        from_keras("gru", tensors, prefix="m")
    assert err.value.field == "prefix"


# 4. peephole weights


def test_peephole_weights_are_refused_for_a_plain_lstm() -> None:
    _, keras = _keras("lstm_peephole", 3, 4, 1)
    message = (
        "peephole_lstm/input_gate_peephole_weights is a peephole LSTM's weight; "
        "upload with cell lstm_peephole"
    )
    with pytest.raises(LayoutError, match=re.escape(message)):
        from_keras("lstm", keras)


@pytest.mark.parametrize(
    ("drop", "rename", "missing"),
    [
        ("input_gate", lambda n: n, "peephole_lstm/input_gate_peephole_weights"),
        (
            "forget_gate",
            lambda n: n.replace("output_gate_peephole_weights", "w_o_diag"),
            "peephole_lstm/w_f_diag",
        ),
    ],
)
def test_a_missing_peephole_weight_is_named_as_keras_names_it(
    drop: str, rename: Callable[[str], str], missing: str
) -> None:
    params, keras = _keras("lstm_peephole", 3, 4, 1)
    tensors = {rename(n): v for n, v in keras.items() if drop not in n}
    message = f"missing tensor {missing} (expected shape (4,)) for lstm_peephole"
    with pytest.raises(LayoutError, match=re.escape(message)):
        from_keras("lstm_peephole", tensors)
    got, _ = from_keras("lstm_peephole", {rename(n): v for n, v in keras.items()})
    _assert_same(got, params)


# 5. PyTorch names under layout keras


def test_pytorch_names_under_layout_keras_point_to_layout_torch() -> None:
    tensors = {f"rnn.{n}": v for n, v in init_params("lstm", 3, 4).items()}
    message = (
        "no recurrent_kernel tensor found; expected Keras RNN weights; rnn.weight_ih_l0 looks "
        "like a PyTorch state_dict name: use layout torch"
    )
    with pytest.raises(LayoutError, match=re.escape(message)):
        from_keras("lstm", tensors)
