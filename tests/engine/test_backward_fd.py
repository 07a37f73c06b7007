"""BPTT gradients against central finite differences in float64, for every cell.

The finite differences use run_trace and the loss written out here in NumPy, so they check
backward's loss value as well as its gradients. Relative error of a gradient tensor:
||fd - analytic|| / max(||fd||, ||analytic||); below 1e-6 everywhere.
"""

from collections.abc import Callable

import numpy as np
import pytest

from app.engine import CELLS, GATES, Clamp, Readout, init_params, run_trace
from app.engine.backward import Gradients, Loss, backward

D, H, T, V = 3, 4, 6, 5
EPS = 1e-5  # central differences: truncation ~ EPS^2, rounding ~ 1e-16 / EPS
RTOL = 1e-6
KINDS = ("unit", "mse_h", "mse_readout", "xent")


class Case:
    """A random model, input, states, readout and loss; `value` recomputes the loss."""

    def __init__(
        self,
        cell: str,
        layers: int,
        batch: int | None,
        kind: str,
        seed: int,
        steps: int = T,
        proj: int = 0,
    ) -> None:
        rng = np.random.default_rng(seed)
        rows = () if batch is None else (batch,)
        self.cell, self.layers = cell, layers
        weights = init_params(cell, D, H, layers, seed=seed, proj_size=proj)
        self.tensors: dict[str, np.ndarray] = {f"params.{k}": v for k, v in weights.items()}
        out = proj or H  # the units of h (proj: an lstm with proj_size)
        self.tensors["x"] = rng.standard_normal((steps, *rows, D))
        self.tensors["h0"] = 0.5 * rng.standard_normal((layers, *rows, out))
        if cell.startswith("lstm"):
            self.tensors["c0"] = 0.5 * rng.standard_normal((layers, *rows, H))
        self.tensors["readout.weight"] = rng.standard_normal((V, out))
        self.tensors["readout.bias"] = rng.standard_normal(V)
        self.clamps: list[Clamp] = []
        if kind == "unit":  # on the bottom layer, so a 2-layer stack's top gets nothing
            self.loss = Loss("unit", step=min(3, steps - 1), unit=1, layer=0)
        elif kind == "mse_h":
            self.loss = Loss("mse_h", targets=rng.standard_normal((steps, *rows, out)))
        elif kind == "mse_readout":
            self.loss = Loss("mse_readout", targets=rng.standard_normal((steps, *rows, V)))
        else:
            targets = rng.integers(0, V, size=(steps, *rows))
            targets[min(1, steps - 1) :: 2] = -100  # no target at steps 1, 3, 5
            self.loss = Loss("xent", targets=targets)

    def _params(self) -> dict[str, np.ndarray]:
        return {k[7:]: v for k, v in self.tensors.items() if k.startswith("params.")}

    def _readout(self) -> Readout:
        return Readout(self.tensors["readout.weight"], self.tensors["readout.bias"])

    def value(self) -> float:
        """The loss from run_trace and NumPy, independent of backward's loss code."""
        trace = run_trace(
            self.cell,
            self._params(),
            self.tensors["x"],
            h0=self.tensors["h0"],
            c0=self.tensors.get("c0"),
            readout=self._readout(),
            clamps=self.clamps,
        )
        loss = self.loss
        if loss.kind == "unit":
            return float(trace.layers[loss.layer]["h"][loss.step, ..., loss.unit].sum())
        if loss.kind == "mse_h":
            return float(np.mean((trace.layers[-1]["h"] - loss.targets) ** 2))
        assert trace.logits is not None and trace.probs is not None
        if loss.kind == "mse_readout":
            return float(np.mean((trace.logits - loss.targets) ** 2))
        y = np.asarray(loss.targets)
        keep = y != -100
        p_y = np.take_along_axis(trace.probs, np.where(keep, y, 0)[..., None], -1)[..., 0]
        return float(-np.log(p_y[keep]).mean())

    def grads(self) -> Gradients:
        return backward(
            self.cell,
            self._params(),
            self.tensors["x"],
            self.loss,
            h0=self.tensors["h0"],
            c0=self.tensors.get("c0"),
            readout=self._readout(),
            clamps=self.clamps,
        )


def analytic(grads: Gradients, name: str) -> np.ndarray:
    if name.startswith("params."):
        return grads.params[name[7:]]
    if name.startswith("readout."):
        assert grads.readout is not None
        return grads.readout.weight if name == "readout.weight" else grads.readout.bias
    got = {"x": grads.x, "h0": grads.h0, "c0": grads.c0}[name]
    assert got is not None
    return got


def central_difference(f: Callable[[], float], arr: np.ndarray, direction: np.ndarray) -> float:
    """(f(arr + eps d) - f(arr - eps d)) / (2 eps), restoring arr afterwards."""
    original = arr.copy()
    arr += EPS * direction
    plus = f()
    arr[...] = original - EPS * direction
    minus = f()
    arr[...] = original
    return (plus - minus) / (2 * EPS)


def relative_error(fd: np.ndarray | float, an: np.ndarray | float) -> float:
    diff, scale = np.linalg.norm(np.subtract(fd, an)), max(np.linalg.norm(fd), np.linalg.norm(an))
    return float(diff / scale) if scale > 1e-8 else float(diff)  # both ~0: absolute


def directional_errors(case: Case, seed: int = 0) -> dict[str, float]:
    """Per tensor: the derivative along one random direction, fd against <grad, d>."""
    grads = case.grads()
    assert grads.loss == pytest.approx(case.value(), rel=1e-13, abs=1e-15)
    rng = np.random.default_rng(seed)
    errors = {}
    for name, arr in case.tensors.items():
        d = rng.standard_normal(arr.shape)
        fd = central_difference(case.value, arr, d)
        errors[name] = relative_error(fd, float(np.vdot(analytic(grads, name), d)))
    return errors


def elementwise_errors(case: Case) -> dict[str, float]:
    """Per tensor: every entry by central differences, the tensor's relative error."""
    grads = case.grads()
    errors = {}
    for name, arr in case.tensors.items():
        fd = np.empty_like(arr)
        for idx in np.ndindex(arr.shape):
            unit = np.zeros_like(arr)
            unit[idx] = 1.0
            fd[idx] = central_difference(case.value, arr, unit)
        an = analytic(grads, name)
        assert an.shape == arr.shape, name
        errors[name] = relative_error(fd, an)
    return errors


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch", [None, 1, 3])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_gradient_along_random_directions_matches_finite_differences(
    cell: str, layers: int, batch: int | None, kind: str
) -> None:
    errors = directional_errors(Case(cell, layers, batch, kind, seed=layers + (batch or 0)))
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < RTOL, f"{worst}: {errors[worst]:.2e}"


@pytest.mark.parametrize("cell", CELLS)
def test_a_one_step_sequence_has_the_right_gradients(cell: str) -> None:
    errors = directional_errors(Case(cell, 2, 3, "mse_readout", seed=6, steps=1))
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < RTOL, f"{worst}: {errors[worst]:.2e}"


@pytest.mark.parametrize("cell", CELLS)
def test_every_gradient_entry_matches_finite_differences(cell: str) -> None:
    # cross-entropy through the readout: every path (readout, both layers, x, h0, c0) counts
    errors = elementwise_errors(Case(cell, 2, 2, "xent", seed=11))
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < RTOL, f"{worst}: {errors[worst]:.2e}"


def test_gradient_of_a_unit_on_the_bottom_layer_leaves_the_top_layer_at_zero() -> None:
    case = Case("lstm", 2, 3, "unit", seed=4)
    grads = case.grads()
    for name in ("weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"):
        np.testing.assert_array_equal(grads.params[name], 0.0)
    np.testing.assert_array_equal(grads.x[4:], 0.0)  # the unit at step 3 sees only x[:4]
    assert np.all(np.abs(grads.x[:4]).sum(axis=(1, 2)) > 0)
    np.testing.assert_array_equal(grads.h0[1], 0.0)
    assert np.abs(grads.h0[0]).sum() > 0


CLAMPED = [(cell, field) for cell in CELLS for field in GATES[cell]]


@pytest.mark.parametrize(("cell", "field"), CLAMPED, ids=lambda v: str(v))
def test_clamped_gradients_match_finite_differences_of_the_clamped_trace(
    cell: str, field: str
) -> None:
    case = Case(cell, 2, 3, "mse_readout", seed=8)
    value = 0.3 if field in ("g", "n") else 0.8
    case.clamps = [
        Clamp(field, value, units=[0, 2], steps=range(1, 4)),
        Clamp(field, value, units=[3], layer=1),
    ]
    errors = directional_errors(case, seed=1)
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < RTOL, f"{worst}: {errors[worst]:.2e}"


@pytest.mark.parametrize(("cell", "field"), CLAMPED, ids=lambda v: str(v))
def test_a_gate_clamped_everywhere_gets_no_weight_gradient(cell: str, field: str) -> None:
    case = Case(cell, 1, 3, "mse_h", seed=9)
    case.clamps = [Clamp(field, 0.3 if field in ("g", "n") else 0.8)]
    grads = case.grads()
    free = Case(cell, 1, 3, "mse_h", seed=9).grads()
    if field == "i" and cell == "lstm_coupled":  # i = 1 - f has no rows of its own
        assert not np.allclose(grads.params["weight_ih_l0"], free.params["weight_ih_l0"])
        return
    block = GATES[cell].index(field) if cell != "lstm_coupled" else "fgo".index(field)
    rows = slice(block * H, (block + 1) * H)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        np.testing.assert_array_equal(grads.params[name][rows], 0.0)
        assert np.abs(free.params[name][rows]).sum() > 0  # not zero without the clamp
    if cell == "lstm_peephole" and field in "ifo":
        np.testing.assert_array_equal(grads.params[f"weight_c{field}_l0"], 0.0)
