"""LSTMs with a projection (torch's nn.LSTM(proj_size=P)): parity with torch, BPTT, layouts.

h_t = W_hr (o_t * tanh(c_t)) has P units; the trace keeps o_t * tanh(c_t) as h_unprojected.
"""

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from app.engine import Clamp, init_params, run_trace
from app.engine.errors import LayoutError
from app.engine.layouts_torch import convert_torch
from app.engine.live import initial_state, step
from app.engine.params import check_layout, proj_size
from tests.engine.test_backward_fd import KINDS, RTOL, Case, directional_errors, elementwise_errors

D, H, P, T, B = 3, 5, 2, 7, 4
FIELDS = ("i", "f", "g", "o", "c", "tanh_c", "h_unprojected", "h")


def _np(model: Any) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def torch_reference(
    torch: ModuleType, model: Any, x: np.ndarray
) -> list[list[dict[str, np.ndarray]]]:
    """Every gate of every layer and direction, stepped by hand with torch's own weights and
    ops, checked against the module's output; [layer][direction][field] (T, B, n)."""
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    dirs = 2 if model.bidirectional else 1
    layers, xin = [], torch.tensor(x)
    for k in range(model.num_layers):
        per_dir, outs = [], []
        for d in range(dirs):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            w_ih, w_hh, w_hr = sd[f"weight_ih{sfx}"], sd[f"weight_hh{sfx}"], sd[f"weight_hr{sfx}"]
            b = sd[f"bias_ih{sfx}"] + sd[f"bias_hh{sfx}"]
            h = torch.zeros(B, P, dtype=torch.float64)
            c = torch.zeros(B, H, dtype=torch.float64)
            rec: dict[str, list[Any]] = {f: [] for f in FIELDS}
            steps = range(T - 1, -1, -1) if d else range(T)
            for t in steps:
                a = xin[t] @ w_ih.T + h @ w_hh.T + b
                i, f, g, o = a.chunk(4, dim=-1)
                i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
                c = f * c + i * g
                m = o * c.tanh()
                h = m @ w_hr.T
                for name, v in zip(FIELDS, (i, f, g, o, c, c.tanh(), m, h), strict=True):
                    rec[name].append(v)
            got = {n: torch.stack(v[::-1] if d else v).numpy() for n, v in rec.items()}
            per_dir.append(got)
            outs.append(torch.tensor(got["h"]))
        layers.append(per_dir)
        xin = torch.cat(outs, dim=-1)
    out, _ = model(torch.tensor(x))
    np.testing.assert_allclose(xin.numpy(), out.detach().numpy(), rtol=0, atol=1e-12)
    return layers


@pytest.mark.parametrize(
    ("layers", "bidirectional"), [(1, False), (2, False), (1, True), (2, True)]
)
@pytest.mark.torch
def test_every_field_matches_torch_in_float64(
    torch: ModuleType, layers: int, bidirectional: bool
) -> None:
    torch.manual_seed(layers + 2 * bidirectional)
    model = torch.nn.LSTM(D, H, num_layers=layers, proj_size=P, bidirectional=bidirectional)
    model = model.double()
    x = np.random.default_rng(layers).standard_normal((T, B, D))
    params = convert_torch("lstm", _np(model)).params
    assert proj_size(params) == P
    trace = run_trace("lstm", params, x)
    ref = torch_reference(torch, model, x)
    assert trace.proj_size == P and trace.hidden_size == H
    for k in range(layers):
        for d, fields in enumerate([trace.layers[k], *(trace.backward or [])[k : k + 1]]):
            for name in FIELDS:
                assert fields[name].shape == ref[k][d][name].shape, (k, d, name)
                np.testing.assert_allclose(
                    fields[name], ref[k][d][name], rtol=0, atol=1e-10, err_msg=f"{k} {d} {name}"
                )
    _, (h_n, c_n) = model(torch.tensor(x))
    assert trace.h_n.shape == (layers * (1 + bidirectional), B, P)
    np.testing.assert_allclose(trace.h_n, h_n.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(trace.c_n, c_n.detach().numpy(), rtol=0, atol=1e-10)


@pytest.mark.torch
def test_initial_states_and_a_clamp_match_torch(torch: ModuleType) -> None:
    """h0 has P units, c0 H; a clamp on o changes h_unprojected, then h through W_hr."""
    torch.manual_seed(5)
    model = torch.nn.LSTM(D, H, proj_size=P).double()
    rng = np.random.default_rng(5)
    x, h0, c0 = (
        rng.standard_normal((T, D)),
        rng.standard_normal((1, P)),
        rng.standard_normal((1, H)),
    )
    params = convert_torch("lstm", _np(model)).params
    trace = run_trace("lstm", params, x, h0=h0, c0=c0)
    out, _ = model(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
    np.testing.assert_allclose(trace.layers[0]["h"], out.detach().numpy(), rtol=0, atol=1e-12)
    clamped = run_trace("lstm", params, x, clamps=[Clamp("o", 0.0, units=[1], steps=[2])])
    assert clamped.layers[0]["o"][2, 1] == 0.0
    assert clamped.layers[0]["h_unprojected"][2, 1] == 0.0
    w_hr = params["weight_hr_l0"]
    np.testing.assert_allclose(
        clamped.layers[0]["h"][2], w_hr @ clamped.layers[0]["h_unprojected"][2], atol=1e-15
    )


def test_the_kernel_option_falls_back_to_numpy_for_a_projection() -> None:
    params = init_params("lstm", D, H, 2, proj_size=P)
    x = np.random.default_rng(0).standard_normal((T, D))
    ref = run_trace("lstm", params, x, kernel="numpy")
    for kernel in ("auto", "numba"):
        got = run_trace("lstm", params, x, kernel=kernel)
        assert got.kernel == "numpy"
        np.testing.assert_array_equal(got.layers[1]["h"], ref.layers[1]["h"])


def test_a_model_without_projection_has_no_h_unprojected() -> None:
    trace = run_trace("lstm", init_params("lstm", D, H), np.zeros((2, D)))
    assert "h_unprojected" not in trace.layers[0] and trace.proj_size == 0
    with pytest.raises(Exception, match="unknown field 'h_unprojected' for lstm;"):
        run_trace("lstm", init_params("lstm", D, H), np.zeros((2, D)), fields=["h_unprojected"])


def test_live_steps_carry_a_projected_state() -> None:
    params = init_params("lstm", D, H, 2, proj_size=P, seed=3)
    x = np.random.default_rng(3).standard_normal((T, D))
    state = initial_state("lstm", params)
    assert state.h.shape == (2, P) and state.c is not None and state.c.shape == (2, H)
    full = run_trace("lstm", params, x)
    for t in range(T):
        state, fields, _ = step("lstm", params, x[t], state)
        np.testing.assert_allclose(fields[1]["h"], full.layers[1]["h"][t], rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("layers", "batch"), [(1, None), (2, 3)])
def test_projection_gradients_match_finite_differences(
    kind: str, layers: int, batch: int | None
) -> None:
    errors = directional_errors(Case("lstm", layers, batch, kind, seed=7, proj=P))
    assert "params.weight_hr_l0" in errors
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < RTOL, f"{worst}: {errors[worst]:.2e}"


def test_every_weight_hr_entry_matches_finite_differences() -> None:
    errors = elementwise_errors(Case("lstm", 2, 2, "mse_readout", seed=8, steps=4, proj=P))
    assert errors["params.weight_hr_l1"] < RTOL and errors["params.weight_hr_l0"] < RTOL
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < RTOL, f"{worst}: {errors[worst]:.2e}"


@pytest.mark.torch
def test_backward_matches_torch_autograd(torch: ModuleType) -> None:
    from app.engine.backward import Loss, backward

    torch.manual_seed(9)
    model = torch.nn.LSTM(D, H, num_layers=2, proj_size=P).double()
    x = np.random.default_rng(9).standard_normal((T, B, D))
    targets = np.random.default_rng(10).standard_normal((T, B, P))
    out, _ = model(torch.tensor(x))
    ((out - torch.tensor(targets)) ** 2).mean().backward()
    params = convert_torch("lstm", _np(model)).params
    grads = backward("lstm", params, x, Loss("mse_h", targets=targets))
    for name, p in model.named_parameters():
        assert p.grad is not None
        np.testing.assert_allclose(grads.params[name], p.grad.numpy(), rtol=0, atol=1e-12)


def _sd(torch: ModuleType, **kw: int) -> dict[str, np.ndarray]:
    return _np(torch.nn.LSTM(D, H, proj_size=P, **kw).double())


@pytest.mark.torch
def test_bad_projection_shapes_name_the_tensor_and_the_shape(torch: ModuleType) -> None:
    sd = _sd(torch)
    bad = {**sd, "weight_hr_l0": np.zeros((P, H + 1))}
    with pytest.raises(
        LayoutError, match=r"weight_hr_l0 has shape \(2, 6\), expected \(proj_size, 5\)"
    ):
        check_layout("lstm", bad)
    bad = {**sd, "weight_hh_l0": np.zeros((4 * H, H))}
    with pytest.raises(LayoutError, match=r"weight_hh_l0 has shape \(20, 5\), expected \(20, 2\)"):
        check_layout("lstm", bad)
    big = {**sd, "weight_hr_l0": np.zeros((H, H)), "weight_hh_l0": np.zeros((4 * H, H))}
    with pytest.raises(LayoutError, match="proj_size 5 must be between 1 and hidden_size - 1"):
        check_layout("lstm", big)
    two = _sd(torch, num_layers=2)
    del two["weight_hr_l1"]
    with pytest.raises(
        LayoutError, match=r"missing tensor weight_hr_l1 \(expected shape \(2, 5\)\)"
    ):
        check_layout("lstm", two)
    with pytest.raises(
        LayoutError, match=r"weight_hr_l0: a projection .* only for the standard lstm"
    ):
        check_layout(
            "lstm_peephole",
            {**init_params("lstm_peephole", D, H), "weight_hr_l0": sd["weight_hr_l0"]},
        )


@pytest.mark.torch
def test_a_bias_free_projected_module_gets_zero_biases(torch: ModuleType) -> None:
    model = torch.nn.LSTM(D, H, proj_size=P, bias=False, num_layers=2).double()
    converted = convert_torch("lstm", {"rnn." + k: v for k, v in _np(model).items()})
    assert converted.params["bias_ih_l1"].shape == (4 * H,)
    x = np.random.default_rng(0).standard_normal((T, D))
    out, _ = model(torch.tensor(x))
    trace = run_trace("lstm", converted.params, x)
    np.testing.assert_allclose(trace.layers[1]["h"], out.detach().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("field", ["i", "f", "g", "o"])
def test_clamped_projection_gradients_match_finite_differences(field: str) -> None:
    case = Case("lstm", 2, 3, "mse_readout", seed=4, proj=P)
    value = 0.3 if field == "g" else 0.8
    case.clamps = [
        Clamp(field, value, units=[0, 2], steps=range(1, 4)),
        Clamp(field, value, units=[3], layer=1),  # Case: H = 4
    ]
    errors = directional_errors(case, seed=1)
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < RTOL, f"{worst}: {errors[worst]:.2e}"
