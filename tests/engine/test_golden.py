"""The engine against PyTorch 2.13 outputs stored by scripts/make_golden.py (no torch needed)."""

from pathlib import Path

import numpy as np
import pytest

from app.engine import Readout, run_trace

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
CASES = sorted(GOLDEN.glob("*.npz"))
TOLERANCE = {"float64": 1e-10, "float32": 1e-5}


def test_every_golden_case_is_present() -> None:
    names = {p.stem for p in CASES}
    for cell in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
        for layers in (1, 2):
            for batch in (1, 3):
                for dtype in TOLERANCE:
                    assert f"{cell}_L{layers}_B{batch}_{dtype}" in names


def test_golden_fixtures_stay_small() -> None:
    assert sum(p.stat().st_size for p in CASES) < 1_000_000


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_trace_matches_torch_golden(path: Path) -> None:
    case = _load(path)
    cell, dtype = str(case["cell"]), str(case["dtype"])
    params = {k.removeprefix("param/"): v for k, v in case.items() if k.startswith("param/")}
    readout = Readout(case["readout_weight"], case["readout_bias"])
    trace = run_trace(
        cell,
        params,
        case["x"],
        h0=case["h0"],
        c0=case.get("c0"),
        readout=readout,
        dtype=getattr(np, dtype),
    )
    tol = TOLERANCE[dtype]
    assert trace.layers[0]["h"].dtype == np.dtype(dtype)
    compared = 0
    for k, layer in enumerate(trace.layers):
        for field, value in layer.items():
            np.testing.assert_allclose(
                value, case[f"expect/l{k}/{field}"], rtol=0, atol=tol, err_msg=f"l{k}/{field}"
            )
            compared += 1
    assert compared == len(trace.layers) * len(trace.layers[0])
    np.testing.assert_allclose(trace.h_n, case["expect/h_n"], rtol=0, atol=tol)
    if cell == "lstm":
        assert trace.c_n is not None
        np.testing.assert_allclose(trace.c_n, case["expect/c_n"], rtol=0, atol=tol)
    assert trace.logits is not None and trace.probs is not None
    np.testing.assert_allclose(trace.logits, case["expect/logits"], rtol=0, atol=tol)
    np.testing.assert_allclose(trace.probs, case["expect/probs"], rtol=0, atol=tol)


@pytest.mark.parametrize("path", [p for p in CASES if "_B1_" in p.name], ids=lambda p: p.stem)
def test_unbatched_trace_matches_batch_of_one_golden(path: Path) -> None:
    case = _load(path)
    cell, dtype = str(case["cell"]), str(case["dtype"])
    params = {k.removeprefix("param/"): v for k, v in case.items() if k.startswith("param/")}
    c0 = case["c0"][:, 0] if "c0" in case else None
    trace = run_trace(
        cell, params, case["x"][:, 0], h0=case["h0"][:, 0], c0=c0, dtype=getattr(np, dtype)
    )
    for k, layer in enumerate(trace.layers):
        for field, value in layer.items():
            assert value.shape == case[f"expect/l{k}/{field}"][:, 0].shape
            np.testing.assert_allclose(
                value, case[f"expect/l{k}/{field}"][:, 0], rtol=0, atol=TOLERANCE[dtype]
            )
    np.testing.assert_allclose(trace.h_n, case["expect/h_n"][:, 0], rtol=0, atol=TOLERANCE[dtype])
