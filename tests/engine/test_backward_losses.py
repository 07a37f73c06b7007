"""Loss values, masks, reductions, float32, and the errors backward gives for bad input."""

from typing import Any

import numpy as np
import pytest

from app.engine import EngineError, Readout, ShapeError, init_params, run_trace
from app.engine.backward import Loss, backward

D, H, T, V = 3, 4, 6, 5
PARAMS = init_params("lstm", D, H, seed=3)
RNG = np.random.default_rng(3)
X = RNG.standard_normal((T, 2, D))
READOUT = Readout(RNG.standard_normal((V, H)), RNG.standard_normal(V))
TARGETS_H = RNG.standard_normal((T, 2, H))


def test_masked_mse_is_the_mean_over_kept_steps_and_reaches_no_later_input() -> None:
    mask = np.zeros((T, 2), dtype=bool)
    mask[2, 0] = mask[3, 1] = True
    grads = backward("lstm", PARAMS, X, Loss("mse_h", targets=TARGETS_H, mask=mask))
    h = run_trace("lstm", PARAMS, X).layers[0]["h"]
    kept = (h - TARGETS_H)[mask]  # (2, H)
    assert grads.loss == pytest.approx(np.mean(kept**2), rel=1e-14)
    np.testing.assert_array_equal(grads.x[3:, 0], 0.0)  # row 0 counts only up to step 2
    np.testing.assert_array_equal(grads.x[4:, 1], 0.0)
    assert np.all(np.abs(grads.x[:3, 0]).sum(axis=1) > 0)


def test_a_per_step_mask_applies_to_every_batch_row() -> None:
    steps = np.arange(T) >= 4
    per_step = backward("lstm", PARAMS, X, Loss("mse_h", targets=TARGETS_H, mask=steps))
    both = np.stack([steps, steps], axis=1)
    per_row = backward("lstm", PARAMS, X, Loss("mse_h", targets=TARGETS_H, mask=both))
    assert per_step.loss == per_row.loss
    np.testing.assert_array_equal(per_step.x, per_row.x)


def test_sum_reduction_is_the_mean_times_the_number_of_counted_elements() -> None:
    mean = backward("lstm", PARAMS, X, Loss("mse_h", targets=TARGETS_H))
    total = backward("lstm", PARAMS, X, Loss("mse_h", targets=TARGETS_H, reduction="sum"))
    assert total.loss == pytest.approx(mean.loss * T * 2 * H, rel=1e-14)
    for name in PARAMS:
        np.testing.assert_allclose(total.params[name], mean.params[name] * T * 2 * H, rtol=1e-12)


def test_cross_entropy_value_is_the_mean_negative_log_probability_of_the_targets() -> None:
    targets = RNG.integers(0, V, size=(T, 2))
    targets[0, 1] = -100
    grads = backward("lstm", PARAMS, X, Loss("xent", targets=targets), readout=READOUT)
    probs = run_trace("lstm", PARAMS, X, readout=READOUT).probs
    assert probs is not None
    pairs = [(t, b) for t in range(T) for b in range(2) if (t, b) != (0, 1)]  # (0, 1): none
    logp = [np.log(probs[t, b, targets[t, b]]) for t, b in pairs]
    assert grads.loss == pytest.approx(-np.mean(logp), rel=1e-14)


def test_cross_entropy_keeps_its_gradient_finite_when_a_probability_underflows() -> None:
    readout = Readout(READOUT.weight * 1e4, READOUT.bias)  # softmax saturates to exact 0s
    probs = run_trace("lstm", PARAMS, X, readout=readout).probs
    assert probs is not None and probs.min() == 0.0
    worst = np.unravel_index(np.argmin(probs), probs.shape)
    targets = np.zeros((T, 2), dtype=int)
    targets[worst[:2]] = worst[2]
    grads = backward("lstm", PARAMS, X, Loss("xent", targets=targets), readout=readout)
    assert np.isfinite(grads.loss) and grads.loss > 10
    assert all(np.isfinite(g).all() for g in grads.params.values())


def test_nothing_counted_gives_a_zero_loss_and_zero_gradients() -> None:
    targets = np.full((T, 2), -100)
    grads = backward("lstm", PARAMS, X, Loss("xent", targets=targets), readout=READOUT)
    assert grads.loss == 0.0
    np.testing.assert_array_equal(grads.x, 0.0)
    assert grads.readout is not None
    np.testing.assert_array_equal(grads.readout.weight, 0.0)


def test_unit_loss_counts_steps_and_layers_from_the_end_when_negative() -> None:
    params = init_params("gru", D, H, 2, seed=1)
    neg = backward("gru", params, X, Loss("unit", step=-2, unit=3, layer=-1))
    pos = backward("gru", params, X, Loss("unit", step=T - 2, unit=3, layer=1))
    assert neg.loss == pos.loss == pytest.approx(neg.trace.layers[1]["h"][T - 2, :, 3].sum())
    np.testing.assert_array_equal(neg.x, pos.x)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "lstm_peephole"])
def test_float32_gradients_are_close_to_float64(cell: str) -> None:
    params = init_params(cell, D, H, 2, seed=2)
    loss = Loss("mse_readout", targets=RNG.standard_normal((T, 2, V)))
    g64 = backward(cell, params, X, loss, readout=READOUT)
    g32 = backward(cell, params, X, loss, readout=READOUT, dtype=np.float32)
    assert g32.x.dtype == np.float32 and g32.params["weight_hh_l1"].dtype == np.float32
    assert g32.loss == pytest.approx(g64.loss, rel=1e-5)
    for name in params:
        scale = np.abs(g64.params[name]).max()
        np.testing.assert_allclose(g32.params[name], g64.params[name], rtol=0, atol=1e-5 * scale)


def test_readout_gradients_are_zero_for_a_loss_on_h() -> None:
    grads = backward("lstm", PARAMS, X, Loss("mse_h", targets=TARGETS_H), readout=READOUT)
    assert grads.readout is not None
    np.testing.assert_array_equal(grads.readout.weight, 0.0)
    np.testing.assert_array_equal(grads.readout.bias, 0.0)
    no_readout = backward("lstm", PARAMS, X, Loss("mse_h", targets=TARGETS_H))
    assert no_readout.readout is None
    np.testing.assert_array_equal(grads.x, no_readout.x)


BAD: list[tuple[Any, dict[str, Any], type[Exception], str]] = [
    (Loss("hinge"), {}, EngineError, "loss.kind 'hinge' is unknown"),  # type: ignore[arg-type]
    (Loss("mse_h", targets=TARGETS_H, reduction="max"), {}, EngineError, "loss.reduction"),  # type: ignore[arg-type]
    (Loss("mse_h"), {}, EngineError, "loss.targets is missing"),
    (Loss("mse_h", targets=np.zeros((T, H))), {}, ShapeError, r"expected \(6, 2, 4\)"),
    (Loss("mse_h", targets=np.full((T, 2, H), np.nan)), {}, EngineError, "loss.targets"),
    (Loss("mse_readout", targets=np.zeros((T, 2, V))), {}, EngineError, "needs a readout"),
    (Loss("xent", targets=np.zeros((T, 2))), {}, EngineError, "needs a readout"),
    (Loss("xent", targets=np.full((T, 2), V)), {"readout": READOUT}, EngineError, "contains 5"),
    (Loss("xent", targets=np.full((T, 2), 0.5)), {"readout": READOUT}, EngineError, "whole"),
    (Loss("xent", targets=np.zeros(T)), {"readout": READOUT}, ShapeError, r"expected \(6, 2\)"),
    (Loss("mse_h", targets=TARGETS_H, mask=np.ones(T + 1)), {}, ShapeError, "loss.mask"),
    (Loss("mse_h", targets=TARGETS_H, mask=np.full(T, 0.5)), {}, EngineError, "booleans"),
    (Loss("unit", step=T), {}, EngineError, r"loss.step is 6; steps run from 0 to 5 \(or -6 to -1"),
    (Loss("unit", unit=-1), {}, EngineError, "loss.unit is -1; units run from 0 to 3"),
    (
        Loss("unit", layer=1),
        {},
        EngineError,
        r"loss.layer is 1; layers run from 0 to 0 \(or -1 to -1",
    ),
    (Loss("unit", step=1.5), {}, EngineError, "loss.step is 1.5; expected a whole number"),  # type: ignore[arg-type]
    (Loss("unit", targets=TARGETS_H), {}, EngineError, "loss.targets is given but kind unit"),
    (Loss("unit"), {"c0": np.zeros((1, 2, H + 1))}, ShapeError, "c0 has shape"),
    ({"kind": "unit"}, {}, EngineError, "loss must be a Loss"),
]


@pytest.mark.parametrize(("loss", "kwargs", "error", "message"), BAD, ids=lambda v: str(v)[:30])
def test_bad_loss_is_refused_with_a_message_naming_the_field(
    loss: Any, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        backward("lstm", PARAMS, X, loss, **kwargs)
