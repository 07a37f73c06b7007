"""Weight layouts: PyTorch state_dicts (prefixed or not) and Keras, into the engine's layout."""

import numpy as np
import pytest

from app.engine import (
    CELLS,
    LayoutError,
    Readout,
    from_keras,
    from_torch,
    init_params,
    run_trace,
    to_keras,
)

X = np.random.default_rng(1).standard_normal((6, 2, 3))


def _same_trace(cell: str, a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    ta, tb = run_trace(cell, a, X), run_trace(cell, b, X)
    for k in range(len(ta.layers)):
        for field in ta.layers[k]:
            np.testing.assert_allclose(tb.layers[k][field], ta.layers[k][field], atol=1e-15)


def _keras_lstm_by_hand(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keras LSTM weights written out from PyTorch's: kernel = W_ih^T, one bias; i, f, c, o."""
    return {
        "lstm/lstm_cell/kernel:0": p["weight_ih_l0"].T,
        "lstm/lstm_cell/recurrent_kernel:0": p["weight_hh_l0"].T,
        "lstm/lstm_cell/bias:0": p["bias_ih_l0"] + p["bias_hh_l0"],
    }


def test_keras_lstm_gives_the_trace_of_its_torch_permutation() -> None:
    p = init_params("lstm", 3, 4, seed=2)
    params, readout = from_keras("lstm", _keras_lstm_by_hand(p))
    assert readout is None
    _same_trace("lstm", p, params)


def test_keras_gru_reset_after_is_permuted_z_r_h() -> None:
    p = init_params("gru", 3, 4, seed=2)
    H = 4

    def zrh(w: np.ndarray) -> np.ndarray:  # torch blocks r, z, n -> keras z, r, h
        return np.concatenate([w[H : 2 * H], w[:H], w[2 * H :]])

    keras = {
        "gru/kernel": zrh(p["weight_ih_l0"]).T,
        "gru/recurrent_kernel": zrh(p["weight_hh_l0"]).T,
        "gru/bias": np.stack([zrh(p["bias_ih_l0"]), zrh(p["bias_hh_l0"])]),
    }
    params, _ = from_keras("gru", keras)
    _same_trace("gru", p, params)
    np.testing.assert_array_equal(params["bias_hh_l0"], p["bias_hh_l0"])


@pytest.mark.parametrize("cell", CELLS)
def test_to_keras_and_back_keeps_the_trace_and_readout(cell: str) -> None:
    p = init_params(cell, 3, 4, 3, seed=5)
    readout = Readout(np.arange(20.0).reshape(5, 4) / 20, np.linspace(-1, 1, 5))
    keras = to_keras(cell, p, readout)
    assert keras[next(k for k in keras if k.endswith("kernel"))].shape[0] == 3  # (D, G*H)
    params, back = from_keras(cell, keras)
    _same_trace(cell, p, params)
    assert back is not None
    np.testing.assert_array_equal(back.weight, readout.weight)


def test_keras_layers_are_ordered_naturally_not_alphabetically() -> None:
    p = init_params("rnn_tanh", 3, 4, 11, seed=1)
    keras = to_keras("rnn_tanh", p)
    assert "simple_rnn_10/kernel" in keras
    params, _ = from_keras("rnn_tanh", dict(reversed(list(keras.items()))))
    np.testing.assert_array_equal(params["weight_hh_l10"], p["weight_hh_l10"])
    np.testing.assert_array_equal(params["weight_hh_l2"], p["weight_hh_l2"])


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        (
            {
                "gru/kernel": np.zeros((3, 12)),
                "gru/recurrent_kernel": np.zeros((4, 12)),
                "gru/bias": np.zeros(12),
            },
            "gru/bias has shape (12,), expected (2, 12) (a GRU needs reset_after=True)",
        ),
        (
            {"gru/kernel": np.zeros((3, 8)), "gru/recurrent_kernel": np.zeros((4, 12))},
            "gru/kernel has shape (3, 8), expected (3, 12)",
        ),
        (
            {"gru/kernel": np.zeros((3, 12)), "gru/recurrent_kernel": np.zeros((4, 16))},
            "gru/recurrent_kernel has shape (4, 16), expected (units, 3 * units)",
        ),
        ({"dense/kernel": np.zeros((4, 2))}, "no recurrent_kernel tensor found"),
    ],
)
def test_keras_shapes_are_checked_by_name(tensors: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(LayoutError) as err:
        from_keras("gru", tensors)
    assert message in str(err.value)


def _torch_dict(cell: str, prefix: str, layers: int = 1) -> dict[str, np.ndarray]:
    return {f"{prefix}{k}": v for k, v in init_params(cell, 3, 4, layers, seed=8).items()}


@pytest.mark.parametrize("prefix", ["", "lstm.", "model.encoder.rnn."])
def test_from_torch_finds_the_module_prefix(prefix: str) -> None:
    sd = _torch_dict("lstm", prefix, 2)
    params, readout = from_torch("lstm", sd)
    assert readout is None
    assert set(params) == {k.removeprefix(prefix) for k in sd}
    explicit, _ = from_torch("lstm", sd, prefix=prefix.rstrip("."))
    np.testing.assert_array_equal(explicit["weight_hh_l1"], sd[f"{prefix}weight_hh_l1"])


def test_from_torch_picks_up_a_linear_readout_and_ignores_an_embedding() -> None:
    sd = _torch_dict("gru", "rnn.")
    sd |= {"head.weight": np.ones((7, 4)), "head.bias": np.zeros(7), "emb.weight": np.ones((9, 3))}
    params, readout = from_torch("gru", sd)
    assert readout is not None and readout.weight.shape == (7, 4) and readout.bias.shape == (7,)
    assert "emb.weight" not in params


def test_from_torch_converts_float32_to_float64_exactly() -> None:
    sd = {k: v.astype(np.float32) for k, v in _torch_dict("rnn_relu", "").items()}
    params, _ = from_torch("rnn_relu", sd)
    assert params["weight_ih_l0"].dtype == np.float64
    np.testing.assert_array_equal(params["weight_ih_l0"], sd["weight_ih_l0"])


def test_from_torch_fills_zero_biases_for_bias_false() -> None:
    sd = {k: v for k, v in _torch_dict("lstm", "m.").items() if "bias" not in k}
    params, _ = from_torch("lstm", sd)
    assert not params["bias_ih_l0"].any() and params["bias_hh_l0"].shape == (16,)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"lstm.weight_ih_l0": np.zeros((12, 3))},
            "lstm.weight_ih_l0 has shape (12, 3), expected (16, 3)",
        ),
        (
            {"lstm.weight_ih_l0_reverse": np.zeros((16, 3))},  # half a bidirectional module
            "missing tensor lstm.weight_hh_l0_reverse",
        ),
        (
            {"lstm.weight_hr_l0": np.zeros((2, 4))},  # a projection, but weight_hh is (4H, H)
            "lstm.weight_hh_l0 has shape (16, 4), expected (16, 2) (weight_hr_l0 makes proj_size 2",
        ),
        (
            {"other.weight_ih_l0": np.zeros((16, 3))},
            "several recurrent modules ('lstm.', 'other.')",
        ),
    ],
)
def test_from_torch_refuses_what_it_cannot_map(change: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(LayoutError) as err:
        from_torch("lstm", _torch_dict("lstm", "lstm.") | change)
    assert message in str(err.value)


def test_from_torch_without_any_recurrent_weights_lists_what_it_got() -> None:
    with pytest.raises(LayoutError, match=r"no tensor named weight_ih_l0 .* got fc\.weight"):
        from_torch("gru", {"fc.weight": np.ones((2, 2))})


def test_from_torch_with_the_wrong_cell_names_the_shape() -> None:
    with pytest.raises(LayoutError, match=r"weight_ih_l0 has shape \(12, 3\), expected \(16, 3\)"):
        from_torch("lstm", _torch_dict("gru", "gru."))


def test_complex_weights_are_refused_not_cast_to_their_real_part() -> None:
    params = {k: v + 0.5j for k, v in init_params("lstm", 2, 3, seed=0).items()}
    with pytest.raises(LayoutError, match="weight_ih_l0 holds complex numbers"):
        from_torch("lstm", params)
