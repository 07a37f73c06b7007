"""A slow, independent oracle: every cell written unit by unit with Python floats and math.

Shares no code with app.engine (no NumPy in the math, no gate re-ordering, no tanh-sigmoid
trick), so agreement with it checks the engine's vectorised loops, peepholes and clamps.
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np

Vec = list[float]


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def affine(w: np.ndarray, b: np.ndarray, v: Sequence[float], row: int) -> float:
    return float(b[row]) + sum(float(w[row, j]) * v[j] for j in range(len(v)))


def step(
    cell: str,
    p: Mapping[str, np.ndarray],
    k: int,
    x: Vec,
    h: Vec,
    c: Vec,
    clamp: Mapping[str, Mapping[int, float]] | None = None,
) -> dict[str, Vec]:
    """One step of layer k. clamp: field -> {unit: value}, applied as soon as the field exists."""
    H = len(h)
    w_ih, w_hh = p[f"weight_ih_l{k}"], p[f"weight_hh_l{k}"]
    b_ih, b_hh = p[f"bias_ih_l{k}"], p[f"bias_hh_l{k}"]
    clamp = clamp or {}

    def pre(block: int, u: int) -> float:
        r = block * H + u
        return affine(w_ih, b_ih, x, r) + affine(w_hh, b_hh, h, r)

    def fix(field: str, values: Vec) -> Vec:
        return [clamp.get(field, {}).get(u, v) for u, v in enumerate(values)]

    if cell in ("rnn_tanh", "rnn_relu"):
        z = [pre(0, u) for u in range(H)]
        act = (lambda v: max(v, 0.0)) if cell == "rnn_relu" else math.tanh
        return {"pre": z, "h": [act(v) for v in z]}
    if cell == "gru":
        r = fix("r", [sigmoid(pre(0, u)) for u in range(H)])
        z = fix("z", [sigmoid(pre(1, u)) for u in range(H)])
        n = fix(
            "n",
            [
                math.tanh(
                    affine(w_ih, b_ih, x, 2 * H + u) + r[u] * affine(w_hh, b_hh, h, 2 * H + u)
                )
                for u in range(H)
            ],
        )
        return {"r": r, "z": z, "n": n, "h": [(1 - z[u]) * n[u] + z[u] * h[u] for u in range(H)]}
    if cell == "lstm_coupled":
        f = fix("f", [sigmoid(pre(0, u)) for u in range(H)])
        g = fix("g", [math.tanh(pre(1, u)) for u in range(H)])
        o = fix("o", [sigmoid(pre(2, u)) for u in range(H)])
        i = fix("i", [1.0 - fu for fu in f])
    else:
        peep = cell == "lstm_peephole"
        ci = [float(p[f"weight_ci_l{k}"][u]) * c[u] if peep else 0.0 for u in range(H)]
        cf = [float(p[f"weight_cf_l{k}"][u]) * c[u] if peep else 0.0 for u in range(H)]
        i = fix("i", [sigmoid(pre(0, u) + ci[u]) for u in range(H)])
        f = fix("f", [sigmoid(pre(1, u) + cf[u]) for u in range(H)])
        g = fix("g", [math.tanh(pre(2, u)) for u in range(H)])
    fc = [f[u] * c[u] for u in range(H)]
    ig = [i[u] * g[u] for u in range(H)]
    c_new = [fc[u] + ig[u] for u in range(H)]
    if cell == "lstm_peephole":
        o = fix(
            "o",
            [sigmoid(pre(3, u) + float(p[f"weight_co_l{k}"][u]) * c_new[u]) for u in range(H)],
        )
    elif cell != "lstm_coupled":
        o = fix("o", [sigmoid(pre(3, u)) for u in range(H)])
    tc = [math.tanh(v) for v in c_new]
    h_new = [o[u] * tc[u] for u in range(H)]
    return dict(i=i, f=f, g=g, o=o, c=c_new, tanh_c=tc, h=h_new, f_c_prev=fc, i_g=ig)


def trace(
    cell: str,
    p: Mapping[str, np.ndarray],
    x: np.ndarray,
    num_layers: int,
    hidden_size: int,
    clamps: Mapping[tuple[int, int], Mapping[str, Mapping[int, float]]] | None = None,
) -> list[dict[str, np.ndarray]]:
    """Unbatched x (T, D) from zero states; clamps: (layer, step) -> field -> {unit: value}."""
    inputs: list[Vec] = [[float(v) for v in row] for row in x]
    layers = []
    for k in range(num_layers):
        h, c = [0.0] * hidden_size, [0.0] * hidden_size
        steps = []
        for t, xt in enumerate(inputs):
            out = step(cell, p, k, xt, h, c, (clamps or {}).get((k, t)))
            h, c = out["h"], out.get("c", c)
            steps.append(out)
        layers.append({f: np.array([s[f] for s in steps]) for f in steps[0]})
        inputs = [s["h"] for s in steps]
    return layers
