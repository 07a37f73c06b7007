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
"""

from collections.abc import Mapping

import numpy as np

from app.engine.backward_common import (
    LayerGrads,
    clamp_masks,
    input_and_weight_grads,
    shifted,
    sigmoid_grad,
    weight,
    zero_where,
)
from app.engine.clamps import StepClamps


def _loop(
    dh_out: np.ndarray, K: np.ndarray, kc: np.ndarray, f: np.ndarray, w_hh: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The recurrence for lstm and lstm_coupled.

    K: (T, B, G, H), gate blocks in weight row order with o last: blocks 0..G-2 scale dc,
    block G-1 (o) scales dh. kc, f: (T, B, H). w_hh: (G*H, H).
    Returns dA (T, B, G*H), DH, DC (T, B, H), dh0, dc0 (B, H).
    """
    T, B, G, H = K.shape
    dtype = K.dtype
    dA = np.empty((T, B, G * H), dtype=dtype)
    DH = np.empty((T, B, H), dtype=dtype)
    DC = np.empty((T, B, H), dtype=dtype)
    dh_next = np.zeros((B, H), dtype=dtype)
    dc_next = np.zeros((B, H), dtype=dtype)
    dA4 = dA.reshape(T, B, G, H)
    add, mul, dot = np.add, np.multiply, np.dot
    steps = zip(
        dh_out[::-1],
        DH[::-1],
        DC[::-1],
        dA[::-1],
        dA4[::-1],
        K[::-1],
        kc[::-1],
        f[::-1],
        strict=True,
    )
    for d_out, dh, dc, da, da4, k, k_c, f_t in steps:
        add(d_out, dh_next, dh)  # dh = dL/dh_t
        mul(dh, k_c, dc)
        add(dc, dc_next, dc)  # dc = dL/dc_t
        mul(k[:, : G - 1], dc[:, None, :], da4[:, : G - 1])  # da of the gates that scale c
        mul(k[:, G - 1], dh, da4[:, G - 1])  # da_o
        mul(dc, f_t, dc_next)  # dL/dc_{t-1} through c
        dot(da, w_hh, dh_next)  # dL/dh_{t-1} through the gates
    return dA, DH, DC, dh_next, dc_next


def _peephole_loop(
    dh_out: np.ndarray,
    K: np.ndarray,
    kc: np.ndarray,
    f: np.ndarray,
    w_hh: np.ndarray,
    w_c: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """As _loop for lstm_peephole (K blocks i, f, g, o); w_c = (w_ci, w_cf, w_co), each (H,)."""
    T, B, G, H = K.shape
    dtype = K.dtype
    w_ci, w_cf, w_co = w_c
    dA = np.empty((T, B, G * H), dtype=dtype)
    DH = np.empty((T, B, H), dtype=dtype)
    DC = np.empty((T, B, H), dtype=dtype)
    dh_next = np.zeros((B, H), dtype=dtype)
    dc_next = np.zeros((B, H), dtype=dtype)
    tmp = np.empty((B, H), dtype=dtype)
    dA4 = dA.reshape(T, B, G, H)
    add, mul, dot = np.add, np.multiply, np.dot
    steps = zip(
        dh_out[::-1],
        DH[::-1],
        DC[::-1],
        dA[::-1],
        dA4[::-1],
        K[::-1],
        kc[::-1],
        f[::-1],
        strict=True,
    )
    for d_out, dh, dc, da, da4, k, k_c, f_t in steps:
        add(d_out, dh_next, dh)  # dh = dL/dh_t
        mul(k[:, 3], dh, da4[:, 3])  # da_o
        mul(dh, k_c, dc)
        add(dc, dc_next, dc)
        add(dc, mul(da4[:, 3], w_co, tmp), dc)  # dc = dL/dc_t, o's peephole included
        mul(k[:, :3], dc[:, None, :], da4[:, :3])  # da_i, da_f, da_g
        mul(dc, f_t, dc_next)
        add(dc_next, mul(da4[:, 0], w_ci, tmp), dc_next)
        add(dc_next, mul(da4[:, 1], w_cf, tmp), dc_next)  # dL/dc_{t-1}
        dot(da, w_hh, dh_next)  # dL/dh_{t-1}
    return dA, DH, DC, dh_next, dc_next


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
    """
    T, B, H = dh_out.shape
    dtype = dh_out.dtype
    masks = clamp_masks(clamps, T, H)
    i, f, g, o, c, tc, h = (fields[n] for n in ("i", "f", "g", "o", "c", "tanh_c", "h"))
    c_prev = shifted(c0, c)  # c_{t-1}
    h_prev = shifted(h0, h)  # h_{t-1}
    dg_da = 1.0 - g * g  # d tanh(a_g) / da_g
    kc = o * (1.0 - tc * tc)  # dh -> dc through h = o tanh(c)
    k_o = tc * sigmoid_grad(o)  # dh -> da_o
    zero_where(k_o, masks.get("o"))
    coupled = cell == "lstm_coupled"
    if coupled:
        K = np.empty((T, B, 3, H), dtype=dtype)  # rows f, g, o
        dc_df = c_prev - g if "i" not in masks else c_prev - g * ~masks["i"]
        np.multiply(sigmoid_grad(f), dc_df, out=K[:, :, 0])
        np.multiply(i, dg_da, out=K[:, :, 1])
        K[:, :, 2] = k_o
        zero_where(K[:, :, 0], masks.get("f"))
        zero_where(K[:, :, 1], masks.get("g"))
    else:
        K = np.empty((T, B, 4, H), dtype=dtype)  # rows i, f, g, o
        np.multiply(g, sigmoid_grad(i), out=K[:, :, 0])
        np.multiply(c_prev, sigmoid_grad(f), out=K[:, :, 1])
        np.multiply(i, dg_da, out=K[:, :, 2])
        K[:, :, 3] = k_o
        for n, name in enumerate("ifg"):
            zero_where(K[:, :, n], masks.get(name))
    f_c = np.ascontiguousarray(f)
    w_hh = weight(params, f"weight_hh_l{layer}", dtype)
    peep: dict[str, np.ndarray] = {}
    if cell == "lstm_peephole":
        w_c = tuple(weight(params, f"weight_c{n}_l{layer}", dtype) for n in "ifo")
        dA, DH, DC, dh0, dc0 = _peephole_loop(dh_out, K, kc, f_c, w_hh, (w_c[0], w_c[1], w_c[2]))
        dA4 = dA.reshape(T, B, 4, H)
        peep = {
            f"weight_ci_l{layer}": np.einsum("tbh,tbh->h", dA4[:, :, 0], c_prev),
            f"weight_cf_l{layer}": np.einsum("tbh,tbh->h", dA4[:, :, 1], c_prev),
            f"weight_co_l{layer}": np.einsum("tbh,tbh->h", dA4[:, :, 3], c),
        }
    else:
        dA, DH, DC, dh0, dc0 = _loop(dh_out, K, kc, f_c, w_hh)
    grads, dxin = input_and_weight_grads(params, layer, dA, dA, xin, h_prev)
    grads.update(peep)
    return LayerGrads(grads, dxin, dh0, dc0, DH, DC)
