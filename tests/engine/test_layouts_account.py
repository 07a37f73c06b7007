"""What an uploaded state_dict's other tensors become (app/engine/layouts_account.py): the
embedding folded in, the readout taken only when nothing can stand between it and h, and
every tensor left out named with its reason."""

import numpy as np
import pytest

from app.engine import LayoutError, convert_keras, convert_torch, init_params, run_trace, to_keras

D, H, V = 3, 4, 5
RNG = np.random.default_rng(3)


def _lstm(prefix: str = "rnn.", bias: bool = True) -> dict[str, np.ndarray]:
    params = init_params("lstm", D, H, seed=1)
    return {prefix + k: v for k, v in params.items() if bias or not k.startswith("bias")}


def _linear(name: str, out: int, inp: int, bias: bool = True) -> dict[str, np.ndarray]:
    layer = {f"{name}.weight": RNG.standard_normal((out, inp))}
    return layer | ({f"{name}.bias": RNG.standard_normal(out)} if bias else {})


def test_a_single_linear_reading_h_is_the_readout_and_nothing_is_ignored() -> None:
    sd = _lstm() | _linear("head", V, H)
    got = convert_torch("lstm", sd)
    assert got.readout is not None
    np.testing.assert_array_equal(got.readout.weight, sd["head.weight"])
    assert got.used == sorted(sd)
    assert got.ignored == {}


def test_an_embedding_is_folded_into_weight_ih_when_vocab_names_its_rows() -> None:
    sd = {"emb.weight": RNG.standard_normal((V, D))} | _lstm() | _linear("head", V, H)
    got = convert_torch("lstm", sd, vocab_size=V)
    assert got.params["weight_ih_l0"].shape == (4 * H, V)
    assert "emb.weight" in got.used and got.readout is not None
    tokens = np.array([0, 3, 1, 4, 4, 2])
    embedded = run_trace("lstm", {k[4:]: v for k, v in _lstm().items()}, sd["emb.weight"][tokens])
    one_hot = run_trace("lstm", got.params, np.eye(V)[tokens])
    for field, value in embedded.layers[0].items():
        np.testing.assert_allclose(one_hot.layers[0][field], value, atol=1e-14)


def test_an_embedding_as_wide_as_the_vocab_is_folded_not_mistaken_for_one_hot_input() -> None:
    # Embedding(5, 5) before LSTM(5, H): taking the tokens one-hot straight into W_ih was the bug
    params = init_params("lstm", V, H, seed=1)
    sd = {"emb.weight": RNG.standard_normal((V, V))} | {f"rnn.{k}": v for k, v in params.items()}
    got = convert_torch("lstm", sd | _linear("head", V, H), vocab_size=V)
    np.testing.assert_allclose(
        got.params["weight_ih_l0"], params["weight_ih_l0"] @ sd["emb.weight"].T
    )
    assert got.readout is not None  # the embedding does not read the head's output


def test_an_embedding_without_vocab_is_ignored_saying_how_to_use_it() -> None:
    sd = {"emb.weight": RNG.standard_normal((7, D))} | _lstm()
    got = convert_torch("lstm", sd)
    assert got.params["weight_ih_l0"].shape == (4 * H, D)
    assert "give its 7 tokens as vocab" in got.ignored["emb.weight"]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        # a head of two layers: fc1 (8 x H) then fc2 (V x 8)
        (_linear("fc1", 8, H) | _linear("fc2", V, 8), "fc2 may read or change its output"),
        # Linear(H, H) then Linear(H, V): both read h
        (_linear("fc1", H, H) | _linear("fc2", V, H), "several layers read h (fc1, fc2)"),
        # a LayerNorm over h before the head
        (
            {"ln.weight": np.ones(H), "ln.bias": np.zeros(H)} | _linear("head", V, H),
            "ln has 4 numbers and may change h",
        ),
        # a second recurrent module
        (
            {f"rnn2.{k}": v for k, v in init_params("lstm", H, H, seed=2).items()}
            | _linear("head", V, H),
            "other recurrent modules ('rnn2.')",
        ),
    ],
    ids=["two-layer head", "two readers", "norm over h", "second rnn"],
)
def test_no_readout_is_guessed_when_something_may_stand_before_it(extra: dict, says: str) -> None:
    got = convert_torch("lstm", _lstm() | extra, prefix="rnn")
    assert got.readout is None
    assert any(says in why for why in got.ignored.values()), got.ignored
    assert set(got.used) | set(got.ignored) == set(_lstm()) | set(extra)  # every tensor accounted


def test_a_bias_free_linear_reading_h_is_left_out_saying_why() -> None:
    got = convert_torch("lstm", _lstm() | _linear("head", V, H, bias=False))
    assert got.readout is None
    assert "has no bias" in got.ignored["head.weight"]


def test_a_module_whose_bias_is_no_linear_bias_is_left_out_not_refused() -> None:
    # x @ W + b with W (3, 4), b (4,): the whole upload was refused over an unrelated module
    sd = _lstm() | {"proj.weight": np.ones((3, H)), "proj.bias": np.ones(H)}
    got = convert_torch("lstm", sd)
    assert got.readout is None
    assert set(got.ignored) == {"proj.weight", "proj.bias"}


def test_lstm_cell_state_dicts_are_read_as_layer_0_and_reported_by_their_own_names() -> None:
    params = init_params("lstm", D, H, seed=1)
    cell = {f"cell.{k.removesuffix('_l0')}": v for k, v in params.items()}
    got = convert_torch("lstm", cell)
    for name, value in params.items():
        np.testing.assert_array_equal(got.params[name], value)
    assert got.used == sorted(cell)


def test_the_top_level_module_can_be_chosen_with_a_dot_prefix() -> None:
    sd = _lstm(prefix="") | _lstm(prefix="dec.")
    with pytest.raises(LayoutError, match=r"choose one with prefix \('\.' for the one at the top"):
        convert_torch("lstm", sd)
    got = convert_torch("lstm", sd, prefix=".")
    np.testing.assert_array_equal(got.params["weight_ih_l0"], sd["weight_ih_l0"])
    assert "another recurrent module ('dec.')" in got.ignored["dec.weight_ih_l0"]


def test_keras_names_uploaded_as_torch_get_a_hint() -> None:
    with pytest.raises(LayoutError, match="these look like Keras names: use layout keras"):
        convert_torch(
            "lstm",
            {"lstm/kernel": np.ones((D, 4 * H)), "lstm/recurrent_kernel": np.ones((H, 4 * H))},
        )


def test_the_misshapen_tensor_is_blamed_not_a_sound_one_checked_against_it() -> None:
    sd = init_params("lstm", D, H, seed=1) | {"weight_hh_l0": np.zeros((4 * H, D))}
    # H was read from weight_hh's width alone, so the sound weight_ih_l0 was blamed
    with pytest.raises(
        LayoutError, match=r"^weight_hh_l0 has shape \(16, 3\), expected \(16, 4\)$"
    ):
        convert_torch("lstm", sd)


@pytest.mark.parametrize(
    ("cell", "saved_as", "says"),
    [
        (
            "gru",
            "lstm",
            r"\(20, 3\), expected \(15, 3\) \(lstm or lstm_peephole rows: is cell right",
        ),
        ("lstm", "gru", r"\(15, 3\), expected \(20, 3\) \(lstm_coupled or gru rows: is cell right"),
    ],
)
def test_weights_of_another_cell_get_a_hint_to_check_cell(
    cell: str, saved_as: str, says: str
) -> None:
    with pytest.raises(LayoutError, match=says):
        convert_torch(cell, init_params(saved_as, D, 5, seed=1))


def _keras_lstm() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    params = init_params("lstm", D, H, seed=1)
    params = {k: (np.zeros_like(v) if k == "bias_hh_l0" else v) for k, v in params.items()}
    return params, to_keras("lstm", params)  # Keras sums the two biases: keep one


def test_a_keras_embedding_is_folded_and_the_dense_taken_as_readout() -> None:
    params, keras = _keras_lstm()
    table = RNG.standard_normal((V, D))
    dense = {"dense/kernel:0": RNG.standard_normal((H, V)), "dense/bias:0": RNG.standard_normal(V)}
    got = convert_keras("lstm", {"embedding/embeddings:0": table} | keras | dense, vocab_size=V)
    np.testing.assert_allclose(got.params["weight_ih_l0"], params["weight_ih_l0"] @ table.T)
    assert got.readout is not None
    np.testing.assert_array_equal(got.readout.weight, dense["dense/kernel:0"].T)
    assert got.ignored == {}


def test_a_keras_head_of_two_dense_layers_is_not_taken_as_readout() -> None:
    _, keras = _keras_lstm()
    head = {
        "dense/kernel": RNG.standard_normal((H, 8)),
        "dense/bias": RNG.standard_normal(8),
        "dense_1/kernel": RNG.standard_normal((8, V)),
        "dense_1/bias": RNG.standard_normal(V),
    }
    got = convert_keras("lstm", keras | head)
    assert got.readout is None  # dense (H -> 8) became a softmax over 8 features
    assert "dense_1 may read or change its output" in got.ignored["dense/kernel"]
    assert set(got.ignored) == set(head)


# -- found by a second review of the rules --------------------------------------------------
def test_an_embedding_with_a_norm_before_the_rnn_is_refused_not_folded_through_it() -> None:
    sd = {"emb.weight": RNG.standard_normal((V, D)), "norm.weight": np.ones(D)} | _lstm()
    with pytest.raises(LayoutError, match="emb looks like the embedding, but norm may sit between"):
        convert_torch("lstm", sd, vocab_size=V)  # was folded: h off by 0.30


def test_keras_stacked_cells_of_one_rnn_layer_are_two_layers() -> None:
    params = init_params("lstm", D, H, 2, seed=4)
    params = {k: (np.zeros_like(v) if k.startswith("bias_hh") else v) for k, v in params.items()}
    keras = to_keras("lstm", params)  # lstm/..., lstm_1/...
    stacked = {k.replace("lstm_1/", "rnn/lstm_cell_1/").replace("lstm/", "rnn/lstm_cell/"): v
               for k, v in keras.items()}  # fmt: skip
    got = convert_keras("lstm", stacked)  # was one layer mixing both cells' tensors
    for name, value in params.items():
        np.testing.assert_allclose(got.params[name], value, atol=1e-15)


def test_a_table_with_another_tensor_is_no_embedding_and_no_500() -> None:
    sd = {"emb.weight": RNG.standard_normal((V, D)), "emb.scale": np.ones(D)} | _lstm()
    with pytest.raises(LayoutError, match="vocab has 5 tokens but the RNN takes 3 inputs"):
        convert_torch("lstm", sd, vocab_size=V)  # was a ValueError: a 500


def test_a_keras_dense_without_bias_is_never_folded_as_an_embedding() -> None:
    params = init_params("rnn_tanh", H, H, seed=1)
    params["bias_hh_l0"][:] = 0
    keras = to_keras("rnn_tanh", params) | {"dense/kernel": RNG.standard_normal((H, V))}
    with pytest.raises(LayoutError, match="vocab has 5 tokens but the RNN takes 4 inputs"):
        convert_keras("rnn_tanh", keras, vocab_size=V)  # was folded transposed: a 500
    assert "reads h but has no bias" in convert_keras("rnn_tanh", keras).ignored["dense/kernel"]


def test_an_lstm_cell_module_beside_the_rnn_blocks_the_readout() -> None:
    cell = {f"dec.{k.removesuffix('_l0')}": v for k, v in init_params("lstm", D, H).items()}
    got = convert_torch("lstm", _lstm() | cell | _linear("out", V, H), prefix="rnn")
    assert got.readout is None
    assert got.ignored["dec.weight_ih"] == "part of another recurrent module ('dec.')"


def test_a_norm_after_the_readout_blocks_it() -> None:
    sd = _lstm() | _linear("out", V, H) | {"ln.weight": np.ones(V), "ln.bias": np.zeros(V)}
    got = convert_torch("lstm", sd)  # was taken: logits off by 2.07
    assert got.readout is None
    assert "ln may read or change its output" in got.ignored["out.weight"]


def test_two_possible_embeddings_are_named_as_such() -> None:
    params = init_params("lstm", 6, 6, seed=1)
    sd = {f"rnn.{k}": v for k, v in params.items()}
    sd |= {"emb.weight": RNG.standard_normal((7, 6)), "tok.weight": RNG.standard_normal((7, 6))}
    assert (
        convert_torch("lstm", sd)
        .ignored["emb.weight"]
        .startswith("one of several possible embeddings (emb, tok)")
    )
    with pytest.raises(LayoutError, match=r"several possible embeddings \(emb, tok\) for the 7"):
        convert_torch("lstm", sd, vocab_size=7)


def test_an_input_projection_does_not_block_the_readout() -> None:
    sd = _linear("proj", D, 7) | _lstm() | _linear("head", 7, H)
    got = convert_torch("lstm", sd)  # proj (7 -> D) was taken for a layer after the readout
    assert got.readout is not None
    assert got.ignored["proj.weight"].startswith("maps to the RNN's 3 inputs")


def test_a_bias_free_readout_is_not_folded_as_an_embedding_when_d_equals_h() -> None:
    params = init_params("lstm", H, H, seed=1)
    sd = {f"rnn.{k}": v for k, v in params.items()} | _linear("out", V, H, bias=False)
    with pytest.raises(LayoutError, match="no embedding"):
        convert_torch("lstm", sd, vocab_size=V)  # was folded: input_size 5, no readout


def test_a_bad_embedding_value_is_named_not_its_product() -> None:
    table = RNG.standard_normal((V, D))
    table[3, 1] = np.nan
    with pytest.raises(LayoutError, match=r"emb.weight\[3, 1\] is nan"):
        convert_torch("lstm", {"emb.weight": table} | _lstm(), vocab_size=V)
