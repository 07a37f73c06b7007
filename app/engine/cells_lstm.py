"""LSTM family, PyTorch equations (gate order i, f, g, o; g is the article's C-tilde):

    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      input gate
    f = sigmoid(W_if x + b_if + W_hf h + b_hf)      forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)         candidate cell state (C-tilde)
    o = sigmoid(W_io x + b_io + W_ho h + b_ho)      output gate
    c = f * c_prev + i * g                          cell state
    h = o * tanh(c)                                 hidden state

Projection (torch's nn.LSTM(proj_size=P), standard lstm only): the product above becomes
h_unprojected = o * tanh(c) (H units) and h = W_hr h_unprojected (P units) with W_hr (P, H);
h (not h_unprojected) is what the gates see at the next step and what the layer above reads,
so weight_hh is (4H, P). The row layout is the same, with h_unprojected in the h block and h
in an array of its own.

Peephole (Keras/TensorFlow use_peepholes): i and f also add w_ci * c_prev and w_cf * c_prev,
o adds w_co * c (the new c). Coupled: no input-gate rows, i = 1 - f.

Storage: one array R of shape (T + 1, B, 9H) per layer; row t holds, in blocks of H,
[o, i, f, g, c_prev, i*g, f*c_prev, tanh_c, h] of step t, where c_prev of row t + 1 is the c of
step t. So the sigmoid gates [o, i, f] are one contiguous block, [i, f] * [g, c_prev] is one
multiply giving [i*g, f*c_prev], and the traced fields are views into R (no copies).
"""

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from app.engine.cell_common import (
    LayerResult,
    aligned_empty,
    apply_clamps,
    dense_clamps,
    project_inputs,
    stacked_weights,
)
from app.engine.clamps import StepClamps
from app.engine.kernel import lstm_kernel

KO, KI, KF, KG, CP, IG, FC, TC, HH, WIDTH = range(10)  # block positions within a row of R


def _views(R: np.ndarray, T: int, H: int) -> dict[str, np.ndarray]:
    def block(k: int) -> np.ndarray:
        return R[:T, :, k * H : (k + 1) * H]

    return {
        "i": block(KI),
        "f": block(KF),
        "g": block(KG),
        "o": block(KO),
        "c": R[1:, :, CP * H : (CP + 1) * H],
        "tanh_c": block(TC),
        "h": block(HH),
        "f_c_prev": block(FC),
        "i_g": block(IG),
    }


def _result(R: np.ndarray, T: int, H: int) -> LayerResult:
    fields = _views(R, T, H)
    return LayerResult(fields, fields["h"], fields["h"][T - 1], fields["c"][T - 1])


def _buffer(xin: np.ndarray, w_ih_t: np.ndarray, bias: np.ndarray, c0: np.ndarray) -> np.ndarray:
    """R of shape (T + 1, B, 9H) with the input projections in place and c0 as row 0's c_prev."""
    T, B, _ = xin.shape
    H = c0.shape[1]
    R = aligned_empty((T + 1, B, WIDTH * H), w_ih_t.dtype)
    project_inputs(xin, w_ih_t, bias, R)
    R[0, :, CP * H : (CP + 1) * H] = c0
    return R


def _output(r: np.ndarray, c: np.ndarray, o: np.ndarray, H: int) -> np.ndarray:
    """tanh(c) and h = o * tanh(c) into row r (B, 9H); returns the h view."""
    tc = r[:, TC * H : (TC + 1) * H]
    np.tanh(c, out=tc)  # tanh(c)
    h = r[:, HH * H :]
    np.multiply(o, tc, out=h)  # h = o * tanh(c)
    return h


def lstm_layer(
    params: Mapping[str, np.ndarray],
    layer: int,
    xin: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    clamps: StepClamps | None,
    dtype: np.dtype[Any],
    kernel: str = "auto",
) -> LayerResult:
    """Standard LSTM over xin (T, B, D) from h0, c0 (B, H).

    The loop is the hot path: per step one np.dot and eight ufunc calls with positional
    out arguments on views made by iterating (in C) rather than by indexing. With numba
    installed, the compiled kernel (app/engine/kernel_numba.py) runs the same steps instead.
    """
    if f"weight_hr_l{layer}" in params:  # a projection: NumPy only (no compiled kernel)
        return projected_layer(params, layer, xin, h0, c0, clamps, dtype)
    T, B, _ = xin.shape
    H = h0.shape[1]
    # torch rows i, f, g, o -> internal o, i, f, g; sigmoid rows pre-scaled by 0.5
    order, scales = (3, 0, 1, 2), (0.5, 0.5, 0.5, 1.0)
    w_ih_t, w_hh_t, bias = stacked_weights(params, layer, H, order, scales, dtype)
    R = _buffer(xin, w_ih_t, bias, c0)  # input parts of the pre-activations [o, i, f, g]
    offsets = {"o": KO * H, "i": KI * H, "f": KF * H, "g": KG * H}
    compiled = lstm_kernel(kernel, dtype, H)
    if compiled is not None:
        at, values = dense_clamps(clamps, offsets, T, 4 * H, dtype)
        compiled(R, w_hh_t, np.ascontiguousarray(h0, dtype=dtype), at, values)
        return replace(_result(R, T, H), kernel="numba")
    # With one batch row the loop runs on 1-d views: ufuncs on them are a little cheaper.
    RR, h = (R[:, 0, :], h0[0]) if B == 1 else (R, h0)

    def span(first: int, last: int, rows: slice = slice(0, T)) -> np.ndarray:
        return RR[rows, ..., first * H : (last + 1) * H]

    rec = aligned_empty((*h.shape[:-1], 4 * H), dtype)  # W_hh h_prev
    half = np.asarray(0.5, dtype=dtype)  # a 0-d array is cheaper per call than a float
    add, mul, tanh, dot = np.add, np.multiply, np.tanh, np.dot
    steps = zip(
        span(KO, KG),  # a: pre-activations, then gates [o, i, f, g]
        span(KO, KF),  # s: [o, i, f], tanh(0.5 z) -> sigmoid(z)
        span(KI, KF),  # [i, f]
        span(KG, CP),  # [g, c_prev]
        span(IG, FC),  # [i*g, f*c_prev]
        span(IG, IG),
        span(FC, FC),
        span(CP, CP, slice(1, T + 1)),  # c of this step (the next row's c_prev)
        span(TC, TC),
        span(HH, HH),
        span(KO, KO),
        strict=True,
    )
    for t, (a, s, i_f, g_cp, prods, ig, fc, c, tc, h_t, o) in enumerate(steps):
        dot(h, w_hh_t, rec)  # W_hh h_prev (np.dot: less call overhead than matmul)
        add(a, rec, a)  # all pre-activations (sigmoid rows halved)
        tanh(a, a)  # g, and tanh(0.5 z) for o, i, f
        mul(s, half, s)
        add(s, half, s)  # o, i, f = sigmoid(z)
        if clamps is not None and t in clamps:
            apply_clamps(R[t], clamps[t], offsets)
        mul(i_f, g_cp, prods)  # i*g, f*c_prev
        add(fc, ig, c)  # c = f*c_prev + i*g
        tanh(c, tc)  # tanh(c)
        mul(o, tc, h_t)  # h = o * tanh(c)
        h = h_t
    return _result(R, T, H)


def projected_layer(
    params: Mapping[str, np.ndarray],
    layer: int,
    xin: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    clamps: StepClamps | None,
    dtype: np.dtype[Any],
) -> LayerResult:
    """Standard LSTM with a projection (torch's proj_size): h0 (B, P), c0 (B, H).

    The traced fields are the standard ones, with h (T, B, P) the projected state and the
    extra field h_unprojected (T, B, H), o * tanh(c) before W_hr.
    """
    T, B, _ = xin.shape
    H = c0.shape[1]
    w_ih_t, w_hh_t, bias = stacked_weights(
        params, layer, H, (3, 0, 1, 2), (0.5, 0.5, 0.5, 1.0), dtype
    )
    w_hr_t = np.ascontiguousarray(np.asarray(params[f"weight_hr_l{layer}"], dtype=dtype).T)
    P = w_hr_t.shape[1]
    R = _buffer(xin, w_ih_t, bias, c0)
    offsets = {"o": KO * H, "i": KI * H, "f": KF * H, "g": KG * H}
    hp = aligned_empty((T, B, P), dtype)  # the projected h of every step
    rec = aligned_empty((B, 4 * H), dtype)
    h = h0
    for t in range(T):
        r = R[t]
        a, s = r[:, : 4 * H], r[:, : 3 * H]
        c = R[t + 1, :, CP * H : (CP + 1) * H]
        np.dot(h, w_hh_t, rec)
        np.add(a, rec, out=a)  # all pre-activations (sigmoid rows halved)
        np.tanh(a, out=a)
        np.multiply(s, 0.5, out=s)
        np.add(s, 0.5, out=s)  # o, i, f = sigmoid(z)
        if clamps is not None and t in clamps:
            apply_clamps(r, clamps[t], offsets)
        np.multiply(
            r[:, KI * H : (KF + 1) * H],
            r[:, KG * H : (CP + 1) * H],
            out=r[:, IG * H : (FC + 1) * H],
        )  # i*g, f*c_prev
        np.add(r[:, FC * H : (FC + 1) * H], r[:, IG * H : (IG + 1) * H], out=c)  # c
        m = _output(r, c, r[:, KO * H : (KO + 1) * H], H)  # h_unprojected = o * tanh(c)
        np.dot(m, w_hr_t, out=hp[t])  # h = W_hr h_unprojected
        h = hp[t]
    fields = _views(R, T, H)
    fields["h_unprojected"] = fields["h"]
    fields["h"] = hp
    return LayerResult(fields, hp, hp[T - 1], fields["c"][T - 1])


def peephole_layer(
    params: Mapping[str, np.ndarray],
    layer: int,
    xin: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    clamps: StepClamps | None,
    dtype: np.dtype[Any],
) -> LayerResult:
    """Peephole LSTM: i, f see c_prev and o sees the new c through diagonal weights (H,)."""
    T, B, _ = xin.shape
    H = h0.shape[1]
    w_ih_t, w_hh_t, bias = stacked_weights(
        params, layer, H, (3, 0, 1, 2), (0.5, 0.5, 0.5, 1), dtype
    )
    w_ci, w_cf, w_co = (
        (0.5 * np.asarray(params[f"weight_c{g}_l{layer}"], dtype=np.float64)).astype(dtype)
        for g in "ifo"
    )
    R = _buffer(xin, w_ih_t, bias, c0)
    first = {"i": KI * H, "f": KF * H, "g": KG * H}
    rec = aligned_empty((B, 4 * H), dtype)
    tmp = np.empty((B, H), dtype=dtype)
    h = h0
    for t in range(T):
        r = R[t]
        o, i, f = (r[:, k * H : (k + 1) * H] for k in (KO, KI, KF))
        c_prev, c = r[:, CP * H : (CP + 1) * H], R[t + 1, :, CP * H : (CP + 1) * H]
        np.dot(h, w_hh_t, rec)
        np.add(r[:, : 4 * H], rec, out=r[:, : 4 * H])  # all pre-activations
        np.add(i, np.multiply(c_prev, w_ci, out=tmp), out=i)  # + w_ci * c_prev
        np.add(f, np.multiply(c_prev, w_cf, out=tmp), out=f)  # + w_cf * c_prev
        np.tanh(r[:, H : 4 * H], out=r[:, H : 4 * H])  # g, tanh(0.5 z) for i, f
        s = r[:, H : 3 * H]
        np.multiply(s, 0.5, out=s)
        np.add(s, 0.5, out=s)  # i, f = sigmoid(z)
        if clamps is not None and t in clamps:
            apply_clamps(r, clamps[t], first)
        np.multiply(
            r[:, KI * H : (KF + 1) * H],
            r[:, KG * H : (CP + 1) * H],
            out=r[:, IG * H : (FC + 1) * H],
        )
        np.add(r[:, FC * H : (FC + 1) * H], r[:, IG * H : (IG + 1) * H], out=c)  # c
        np.add(o, np.multiply(c, w_co, out=tmp), out=o)  # + w_co * c
        np.tanh(o, out=o)
        np.multiply(o, 0.5, out=o)
        np.add(o, 0.5, out=o)  # o = sigmoid(z)
        if clamps is not None and t in clamps:
            apply_clamps(r, clamps[t], {"o": KO * H})
        h = _output(r, c, o, H)
    return _result(R, T, H)


def coupled_layer(
    params: Mapping[str, np.ndarray],
    layer: int,
    xin: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    clamps: StepClamps | None,
    dtype: np.dtype[Any],
) -> LayerResult:
    """Coupled-gate LSTM: rows f, g, o (3H); i = 1 - f. Row layout as above, i filled last."""
    T, B, _ = xin.shape
    H = h0.shape[1]
    # torch-style rows f, g, o -> internal o, f, g at blocks KO, KF, KG would not be contiguous
    # with KI in between, so the coupled loop keeps [o, f, g] in the first 3H and i at block 3.
    w_ih_t, w_hh_t, bias = stacked_weights(params, layer, H, (2, 0, 1), (0.5, 0.5, 1), dtype)
    R = _buffer(xin, w_ih_t, bias, c0)
    offsets = {"o": 0, "f": H, "g": 2 * H}
    rec = aligned_empty((B, 3 * H), dtype)
    h = h0
    for t in range(T):
        r = R[t]
        a, s = r[:, : 3 * H], r[:, : 2 * H]
        o, f, g, i = (r[:, k * H : (k + 1) * H] for k in range(4))
        c_prev, c = r[:, CP * H : (CP + 1) * H], R[t + 1, :, CP * H : (CP + 1) * H]
        ig, fc = r[:, IG * H : (IG + 1) * H], r[:, FC * H : (FC + 1) * H]
        np.dot(h, w_hh_t, rec)
        np.add(a, rec, out=a)  # pre-activations of o, f, g
        np.tanh(a, out=a)
        np.multiply(s, 0.5, out=s)
        np.add(s, 0.5, out=s)  # o, f = sigmoid(z)
        if clamps is not None and t in clamps:
            apply_clamps(r, clamps[t], offsets)
        np.subtract(1.0, f, out=i)  # i = 1 - f
        if clamps is not None and t in clamps:
            apply_clamps(r, clamps[t], {"i": 3 * H})
        np.multiply(f, c_prev, out=fc)  # f * c_prev
        np.multiply(i, g, out=ig)  # i * g
        np.add(fc, ig, out=c)  # c
        h = _output(r, c, o, H)
    fields = _views(R, T, H)
    fields.update(
        o=R[:T, :, :H], f=R[:T, :, H : 2 * H], g=R[:T, :, 2 * H : 3 * H], i=R[:T, :, 3 * H : 4 * H]
    )
    return LayerResult(fields, fields["h"], fields["h"][T - 1], fields["c"][T - 1])
