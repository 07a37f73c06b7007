"""BPTT through one layer of the LSTM family, from its trace (every gate is kept there).

Forward (PyTorch order i, f, g, o; g is the article's C-tilde), a = pre-activation:
    c = f * c_prev + i * g,    h = o * tanh(c)
Backward at step t, running t = T-1 .. 0 (dh_next, dc_next come from step t + 1):
    dh = dh_out[t] + dh_next                      total dL/dh_t
    dc = dc_next + dh * o * (1 - tanh(c)^2)       total dL/dc_t
    da_o = dh * tanh(c) * o (1 - o)
    da_i = dc * g * i (1 - i),   da_f = dc * c_prev * f (1 - f),   da_g = dc * i * (1 - g^2)
    dc_next = dc * f,            dh_next = da @ W_hh
Every factor that does not depend on dh or dc (called K) is computed for all steps before the
loop, so a step is a handful of ufuncs and one matrix-vector product; the weight gradients are
one GEMM each after it. A clamped gate is a constant: its K is 0 where it was clamped.

Peephole: a_i, a_f add w_ci * c_prev, w_cf * c_prev and a_o adds w_co * c, so
    dc += da_o * w_co,   dc_next += da_i * w_ci + da_f * w_cf.
Coupled (rows f, g, o; i = 1 - f): dc/df = c_prev - g, unless i itself was clamped.
Projection (torch's proj_size; h = W_hr m with m = o * tanh(c), the trace's h_unprojected):
    dm = dh @ W_hr, which takes dh's place in dc and da_o;   dL/dW_hr = sum_t dh_t^T m_t.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.backward_common import (
    LayerGrads,
    clamp_masks,
    input_and_weight_grads,
    one_row,
    sigmoid_grad,
    times_prev,
    weight,
    zero_where,
)
from app.engine.cell_common import aligned_empty
from app.engine.clamps import StepClamps

Loop = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _outputs(T: int, B: int, G: int, H: int, dtype: np.dtype[Any]) -> tuple[np.ndarray, ...]:
    """dA (T, B, G*H), DH (T, B, H), DC (T, B, 1, H: the 1-axis broadcasts dc over gate
    blocks), and the running dL/dh, dL/dc (B, H), zero after the last step."""
    return (
        aligned_empty((T, B, G * H), dtype),
        np.empty((T, B, H), dtype=dtype),
        np.empty((T, B, 1, H), dtype=dtype),
        np.zeros((B, H), dtype=dtype),
        np.zeros((B, H), dtype=dtype),
    )


def _loop(
    dh_out: np.ndarray, K: np.ndarray, kc: np.ndarray, f: np.ndarray, w_hh: np.ndarray
) -> Loop:
    """The recurrence for lstm and lstm_coupled.

    K: (T, B, G, H), gate blocks in weight row order with o last: blocks 0..G-2 scale dc,
    block G-1 (o) scales dh. kc, f: (T, B, H). w_hh: (G*H, H).
    Returns dA (T, B, G*H), DH, DC (T, B, H), dh0, dc0 (B, H).
    """
    T, B, G, H = K.shape
    dtype = K.dtype
    dA, DH, DC, dh_next, dc_next = _outputs(T, B, G, H, dtype)
    dA4 = dA.reshape(T, B, G, H)
    arrays: tuple[np.ndarray, ...] = (
        dh_out,
        DH,
        DC[:, :, 0],
        DC,
        dA,
        dA4[:, :, : G - 1],
        dA4[:, :, G - 1],
    )
    arrays += (K[:, :, : G - 1], K[:, :, G - 1], kc, f)
    dh_n, dc_n = (dh_next[0], dc_next[0]) if B == 1 else (dh_next, dc_next)
    add, mul, dot = np.add, np.multiply, np.dot
    steps = zip(*(a[::-1] for a in (one_row(*arrays) if B == 1 else arrays)), strict=True)
    for d_out, dh, dc, dc1, da, da_c, da_o, k_c, k_o, k_h, f_t in steps:
        add(d_out, dh_n, dh)  # dh = dL/dh_t
        mul(dh, k_h, dc)
        add(dc, dc_n, dc)  # dc = dL/dc_t
        mul(k_c, dc1, da_c)  # da of the gates that scale c (i, f, g or f, g)
        mul(k_o, dh, da_o)  # da_o
        mul(dc, f_t, dc_n)  # dL/dc_{t-1} through c
        dot(da, w_hh, dh_n)  # dL/dh_{t-1} through the gates
    return dA, DH, DC[:, :, 0], dh_next, dc_next


def _projected_loop(
    dh_out: np.ndarray,
    K: np.ndarray,
    kc: np.ndarray,
    f: np.ndarray,
    w_hh: np.ndarray,
    w_hr: np.ndarray,
) -> Loop:
    """As _loop for an lstm with a projection: dh_out (T, B, P), w_hh (4H, P), w_hr (P, H).
    DH, dh0 have P units; dL/dm = dh @ W_hr is what the gates and c see."""
    T, B, G, H = K.shape
    P = w_hr.shape[0]
    dtype = K.dtype
    dA, _, DC, _, dc_next = _outputs(T, B, G, H, dtype)
    DH = np.empty((T, B, P), dtype=dtype)
    dh_next = np.zeros((B, P), dtype=dtype)
    dm = np.empty((B, H), dtype=dtype)
    dA4 = dA.reshape(T, B, G, H)
    for t in range(T - 1, -1, -1):
        dh, dc = DH[t], DC[t, :, 0]
        np.add(dh_out[t], dh_next, out=dh)  # dh = dL/dh_t (P units)
        np.dot(dh, w_hr, out=dm)  # dL/dm_t, m = o * tanh(c)
        np.multiply(dm, kc[t], out=dc)
        np.add(dc, dc_next, out=dc)  # dc = dL/dc_t
        np.multiply(K[t, :, : G - 1], DC[t], out=dA4[t, :, : G - 1])  # da_i, da_f, da_g
        np.multiply(K[t, :, G - 1], dm, out=dA4[t, :, G - 1])  # da_o
        np.multiply(dc, f[t], out=dc_next)  # dL/dc_{t-1}
        np.dot(dA[t], w_hh, out=dh_next)  # dL/dh_{t-1}, (B, P)
    return dA, DH, DC[:, :, 0], dh_next, dc_next


def _peephole_loop(
    dh_out: np.ndarray,
    K: np.ndarray,
    kc: np.ndarray,
    f: np.ndarray,
    w_hh: np.ndarray,
    w_c: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> Loop:
    """As _loop for lstm_peephole (K blocks i, f, g, o); w_c = (w_ci, w_cf, w_co), each (H,)."""
    T, B, G, H = K.shape
    dtype = K.dtype
    w_ci, w_cf, w_co = w_c
    dA, DH, DC, dh_next, dc_next = _outputs(T, B, G, H, dtype)
    tmp = np.empty((B, H), dtype=dtype)
    dA4 = dA.reshape(T, B, G, H)
    arrays: tuple[np.ndarray, ...] = (
        dh_out,
        DH,
        DC[:, :, 0],
        DC,
        dA,
        dA4[:, :, :3],
        dA4[:, :, 0],
        dA4[:, :, 1],
    )
    arrays += (dA4[:, :, 3], K[:, :, :3], K[:, :, 3], kc, f)
    dh_n, dc_n, tmp_ = (dh_next[0], dc_next[0], tmp[0]) if B == 1 else (dh_next, dc_next, tmp)
    add, mul, dot = np.add, np.multiply, np.dot
    steps = zip(*(a[::-1] for a in (one_row(*arrays) if B == 1 else arrays)), strict=True)
    for d_out, dh, dc, dc1, da, da_c, da_i, da_f, da_o, k_c, k_o, k_h, f_t in steps:
        add(d_out, dh_n, dh)  # dh = dL/dh_t
        mul(k_o, dh, da_o)  # da_o
        mul(dh, k_h, dc)
        add(dc, dc_n, dc)
        add(dc, mul(da_o, w_co, tmp_), dc)  # dc = dL/dc_t, o's peephole included
        mul(k_c, dc1, da_c)  # da_i, da_f, da_g
        mul(dc, f_t, dc_n)
        add(dc_n, mul(da_i, w_ci, tmp_), dc_n)
        add(dc_n, mul(da_f, w_cf, tmp_), dc_n)  # dL/dc_{t-1}
        dot(da, w_hh, dh_n)  # dL/dh_{t-1}
    return dA, DH, DC[:, :, 0], dh_next, dc_next


def lstm_backward(
    cell: str,
    params: Mapping[str, np.ndarray],
    layer: int,
    fields: Mapping[str, np.ndarray],
    xin: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    dh_out: np.ndarray,
    clamps: StepClamps | None,
) -> LayerGrads:
    """Gradients of one lstm / lstm_peephole / lstm_coupled layer.

    fields: the layer's trace, each (T, B, H). xin: (T, B, D_in) the layer's input.
    h0, c0: (B, H). dh_out: (T, B, H) the gradient reaching h_t from outside the layer's
    recurrence (the loss, the layer above). clamps: this layer's clamp schedule.
    With a projection (weight_hr, torch's proj_size P) h, h0 and dh_out have P units and
    fields has h_unprojected (T, B, H).
    """
    T, B, _ = dh_out.shape
    H = c0.shape[-1]
    dtype = dh_out.dtype
    masks = clamp_masks(clamps, T, H)
    i, f, g, o, c, tc, h = (fields[n] for n in ("i", "f", "g", "o", "c", "tanh_c", "h"))
    coupled = cell == "lstm_coupled"
    G = 3 if coupled else 4
    K = np.empty((T, B, G, H), dtype=dtype)  # blocks in weight row order: i, f, g, o / f, g, o
    k_f, k_g, k_o = K[:, :, G - 3], K[:, :, G - 2], K[:, :, G - 1]
    np.multiply(sigmoid_grad(o, k_o), tc, out=k_o)  # dh -> da_o: tanh(c) o (1 - o)
    np.multiply(g, g, out=k_g)
    np.subtract(1.0, k_g, out=k_g)
    np.multiply(k_g, i, out=k_g)  # dc -> da_g: i (1 - g^2)
    sigmoid_grad(f, k_f)
    if coupled:  # dc -> da_f: f (1 - f) (c_prev - g), the g term gone where i was clamped
        minus_g = g if "i" not in masks else g * ~masks["i"]
        c_prev_minus_g = np.negative(minus_g)
        c_prev_minus_g[0] += c0
        c_prev_minus_g[1:] += c[:-1]
        np.multiply(k_f, c_prev_minus_g, out=k_f)
    else:  # dc -> da_f: f (1 - f) c_prev;  dc -> da_i: i (1 - i) g
        times_prev(k_f, c0, c)
        np.multiply(sigmoid_grad(i, K[:, :, 0]), g, out=K[:, :, 0])
    for block, name in enumerate(("f", "g", "o") if coupled else ("i", "f", "g", "o")):
        zero_where(K[:, :, block], masks.get(name))
    kc = np.multiply(tc, tc)
    np.subtract(1.0, kc, out=kc)
    np.multiply(kc, o, out=kc)  # dh -> dc through h = o tanh(c): o (1 - tanh(c)^2)
    w_hh = weight(params, f"weight_hh_l{layer}", dtype)
    extra: dict[str, np.ndarray] = {}
    if cell == "lstm_peephole":
        w_c = tuple(weight(params, f"weight_c{n}_l{layer}", dtype) for n in "ifo")
        dA, DH, DC, dh0, dc0 = _peephole_loop(dh_out, K, kc, f, w_hh, (w_c[0], w_c[1], w_c[2]))
        dA4 = dA.reshape(T, B, 4, H)

        def dot_c_prev(da: np.ndarray) -> np.ndarray:  # sum over t, b of da * c_prev
            total: np.ndarray = np.einsum("bh,bh->h", da[0], c0)
            total += np.einsum("tbh,tbh->h", da[1:], c[:-1])
            return total

        extra = {
            f"weight_ci_l{layer}": dot_c_prev(dA4[:, :, 0]),
            f"weight_cf_l{layer}": dot_c_prev(dA4[:, :, 1]),
            f"weight_co_l{layer}": np.einsum("tbh,tbh->h", dA4[:, :, 3], c),
        }
    elif f"weight_hr_l{layer}" in params:
        w_hr = weight(params, f"weight_hr_l{layer}", dtype)
        dA, DH, DC, dh0, dc0 = _projected_loop(dh_out, K, kc, f, w_hh, w_hr)
        m = fields["h_unprojected"]
        extra = {f"weight_hr_l{layer}": np.einsum("tbp,tbh->ph", DH, m)}  # sum_t dh_t^T m_t
    else:
        dA, DH, DC, dh0, dc0 = _loop(dh_out, K, kc, f, w_hh)
    grads, dxin = input_and_weight_grads(params, layer, dA, dA, xin, h0, h)
    grads.update(extra)
    return LayerGrads(grads, dxin, dh0, dc0, DH, DC)
