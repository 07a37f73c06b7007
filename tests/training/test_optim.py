import numpy as np
import pytest

from app.engine.optim import Adam, clip_global_norm, global_norm


def test_global_norm_counts_every_tensor():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert global_norm(grads) == pytest.approx(5.0)


def test_clip_global_norm_scales_all_tensors_by_one_factor():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    clipped, norm = clip_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [[0.8]])
    assert global_norm(clipped) == pytest.approx(1.0)


def test_clip_global_norm_leaves_small_gradients_alone():
    grads = {"a": np.array([0.3, -0.4])}
    clipped, norm = clip_global_norm(grads, 1.0)
    assert norm == pytest.approx(0.5)
    np.testing.assert_array_equal(clipped["a"], grads["a"])


def test_clip_global_norm_refuses_nan_naming_the_tensor():
    with pytest.raises(FloatingPointError, match="weight_hh_l0"):
        clip_global_norm({"weight_ih_l0": np.ones(2), "weight_hh_l0": np.array([np.nan])}, 1.0)


def test_adam_first_step_moves_each_entry_by_lr_against_its_sign():
    # after one step m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps)
    params = {"w": np.array([1.0, -2.0, 0.5])}
    opt = Adam(params, lr=0.1)
    opt.step(params, {"w": np.array([2.0, -0.001, 30.0])})
    np.testing.assert_allclose(params["w"], [0.9, -1.9, 0.4], atol=1e-6)


def test_adam_second_step_matches_hand_computation():
    p = {"w": np.array([0.0])}
    opt = Adam(p, lr=0.01, betas=(0.9, 0.99), eps=0.0)
    opt.step(p, {"w": np.array([1.0])})
    opt.step(p, {"w": np.array([3.0])})
    m = 0.9 * 0.1 * 1.0 + 0.1 * 3.0  # 0.39
    v = 0.99 * 0.01 * 1.0 + 0.01 * 9.0  # 0.0999
    step2 = 0.01 * (m / (1 - 0.81)) / np.sqrt(v / (1 - 0.99**2))
    np.testing.assert_allclose(p["w"], [-0.01 - step2], rtol=1e-12)


def test_adam_refuses_missing_or_misshapen_gradients():
    params = {"w": np.zeros(2), "b": np.zeros(1)}
    opt = Adam(params)
    with pytest.raises(KeyError, match="b"):
        opt.step(params, {"w": np.zeros(2)})
    with pytest.raises(ValueError, match="gradient of b has shape"):
        opt.step(params, {"w": np.zeros(2), "b": np.zeros(3)})


def test_adam_matches_torch_over_many_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    params = {"w": w0.copy()}
    opt = Adam(params, lr=0.05, betas=(0.8, 0.95), eps=1e-6)
    tw = torch.nn.Parameter(torch.tensor(w0))
    topt = torch.optim.Adam([tw], lr=0.05, betas=(0.8, 0.95), eps=1e-6)
    for _ in range(20):
        g = rng.standard_normal((3, 4))
        opt.step(params, {"w": g})
        tw.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(params["w"], tw.detach().numpy(), rtol=1e-12, atol=1e-14)
