"""The LSTM recurrence compiled with numba: every step fused into one compiled loop that writes
the gates straight into the trace buffer R (see cells_lstm: row t of R holds, in blocks of H,
[o, i, f, g, c_prev, i*g, f*c_prev, tanh_c, h], the input projections already in [o, i, f, g],
the sigmoid rows pre-scaled by 0.5 so that sigmoid(z) = 0.5 * tanh(0.5 z) + 0.5).

Imported only through app.engine.kernel, and only when numba is installed (the `fast` extra).

Why it is faster than the NumPy loop: a NumPy step is about ten calls of a few microseconds
each whatever H is; here a step is one pass of vector loops (AVX-512 where the CPU has it).
float32 uses a rational approximation of tanh (the minimax form Eigen, and so TensorFlow and
XLA, use for float32) evaluated in float32, which LLVM vectorises: libm's tanhf is a scalar
call per number, and this numba's LLVM has no vector math library (no SVML). Its error is a
few float32 ulps (at most 4.4 ulps, 2.6e-7; tests/engine/test_kernel.py). float64 keeps
libm's tanh; its sums differ from BLAS's only in their order (about 1e-15).
"""

import math

import numba
import numpy as np
from numba.extending import overload

_CLAMP = 7.99881172180175781  # |x| past this: tanh(x) is 1 to float32 precision
_ALPHA = (  # numerator, odd powers 13, 11, ..., 1
    -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
    1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03,
)  # fmt: skip
_BETA = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03)

_F = np.float32
C, A13, A11, A9, A7, A5, A3, A1 = (_F(v) for v in (_CLAMP, *_ALPHA))
B6, B4, B2, B0 = (_F(v) for v in _BETA)
HALF32 = _F(0.5)
# Every function: nogil, cached on disk, no bounds checks, and error_model numpy: x / 0 gives
# inf, as in NumPy, instead of a checked raise, and that check was what kept LLVM from
# vectorising the tanh loops (measured: 10x).


@numba.njit(
    inline="always",
    fastmath={"contract"},
    nogil=True,
    cache=True,
    boundscheck=False,
    error_model="numpy",
)
def tanh32(x):
    """tanh of a float32, as a rational function of degree 13/6 in float32 arithmetic."""
    x = min(max(x, -C), C)
    x2 = x * x
    p = x2 * A13 + A11
    p = x2 * p + A9
    p = x2 * p + A7
    p = x2 * p + A5
    p = x2 * p + A3
    p = x2 * p + A1
    q = x2 * B6 + B4
    q = x2 * q + B2
    q = x2 * q + B0
    return (x * p) / q


def tanh_of(x):
    """tanh in x's precision: tanh32 for float32, libm's tanh for float64 (see overload)."""
    raise NotImplementedError  # only called from compiled code


def sigmoid_of(z_half):
    """sigmoid(z) from z / 2 (the rows are pre-scaled): 0.5 * tanh(z / 2) + 0.5."""
    raise NotImplementedError


@overload(tanh_of, inline="always")
def _tanh_of(x):
    if x == numba.float32:
        return lambda x: tanh32(x)
    return lambda x: math.tanh(x)


@overload(sigmoid_of, inline="always")
def _sigmoid_of(z_half):
    if z_half == numba.float32:
        return lambda z_half: HALF32 * tanh32(z_half) + HALF32
    return lambda z_half: 0.5 * math.tanh(z_half) + 0.5


@numba.njit(fastmath={"contract"}, nogil=True, cache=True, boundscheck=False, error_model="numpy")
def lstm_steps(R, w_hh_t, h0, clamp_at, clamp_values):
    """Run T steps in place. R (T + 1, B, 9H), w_hh_t (H, 4H) halved like R, h0 (B, H);
    clamp_at (T,) bool: step t has clamps, whose gate values [o, i, f, g] are in
    clamp_values[t] (4H,), NaN where a unit runs free (cell_common.dense_clamps)."""
    T = R.shape[0] - 1
    H = w_hh_t.shape[0]
    G = 4 * H
    for b in range(R.shape[1]):
        h = h0[b]
        for t in range(T):
            row = R[t, b]
            a = row[:G]  # pre-activations [o, i, f, g], input part in place
            k = 0
            while k + 4 <= H:  # a += W_hh h, four columns of h per pass over a
                h_0, h_1, h_2, h_3 = h[k], h[k + 1], h[k + 2], h[k + 3]
                w0, w1, w2, w3 = w_hh_t[k], w_hh_t[k + 1], w_hh_t[k + 2], w_hh_t[k + 3]
                for j in range(G):
                    a[j] += h_0 * w0[j] + h_1 * w1[j] + h_2 * w2[j] + h_3 * w3[j]
                k += 4
            while k < H:
                hk, wk = h[k], w_hh_t[k]
                for j in range(G):
                    a[j] += hk * wk[j]
                k += 1
            for j in range(3 * H):
                a[j] = sigmoid_of(a[j])  # o, i, f = sigmoid(z)
            for j in range(3 * H, G):
                a[j] = tanh_of(a[j])  # g (C-tilde)
            if clamp_at[t]:
                forced = clamp_values[t]
                for j in range(G):
                    if forced[j] == forced[j]:  # not NaN: this gate unit is clamped
                        a[j] = forced[j]
            o, i, f, g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            c_prev, ig, fc = row[4 * H : 5 * H], row[5 * H : 6 * H], row[6 * H : 7 * H]
            tc, h_t = row[7 * H : 8 * H], row[8 * H :]
            c = R[t + 1, b, 4 * H : 5 * H]  # c, stored as the next row's c_prev
            for u in range(H):
                ig[u] = i[u] * g[u]  # i * g
                fc[u] = f[u] * c_prev[u]  # f * c_prev
                c[u] = fc[u] + ig[u]  # c = f * c_prev + i * g
            for u in range(H):
                tc[u] = tanh_of(c[u])  # tanh(c)
                h_t[u] = o[u] * tc[u]  # h = o * tanh(c)
            h = h_t
    return R


lstm_steps_f32 = lstm_steps_f64 = lstm_steps  # one function, compiled per dtype
