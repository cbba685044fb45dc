# UNIDIRECTIONAL_SEQUENCE_LSTM (int8 or int16 activations, int16 cell state), numpy: the ref
# kernel's arithmetic on int64 vectors, one time step at a time with all four gates' rows at once
# (weights stacked (4S, K); their products in float64, exact), every step into buffers made at
# bind (per-step views too), so invoke allocates nothing; mbqm exactly on int64 (_exact.py; the
# int16 form's FCs with the int64 overload, ExactMbqm64).
import numpy as np

from ._exact import ExactMbqm as _Mbqm, ExactMbqm64 as _Mbqm64
from ._sigmoid16 import Act16


def bind(op, m, v, arena):
    i_x, i_wx, i_wh, i_b, i_m, i_s, i_t, i_h, i_c = op.inputs[:9]
    nb, nt, ni, ns, tm, hzp, qclip, tmul, tsh, width = op.params
    lo, hi = (-128, 127) if width == 1 else (-32768, 32767)
    fc = _Mbqm if width == 1 else _Mbqm64
    x, y, h, c = (v[t].reshape(-1) for t in (i_x, op.outputs[0], i_h, i_c))  # views, not copies
    # products in float64 through BLAS: exact (|sums| < 2**23 K << 2**53), and np.dot on int64
    # allocates a work buffer on every call
    wx = np.asarray(v[i_wx], np.float64).reshape(4 * ns, ni)
    wh = np.asarray(v[i_wh], np.float64).reshape(4 * ns, ns)
    bias = np.asarray(v[i_b], np.int64)
    bx, bh = bias[:4 * ns].copy(), bias[4 * ns:].copy()
    mult, shift = np.asarray(v[i_m], np.int64), np.asarray(v[i_s], np.int64)
    fc_x, fc_h = (fc(np.repeat(mult[k:k + 4], ns), np.repeat(shift[k:k + 4], ns)) for k in (0, 4))
    mul_f, mul_i, mul_o = (_Mbqm(np.full(ns, mult[k]), np.full(ns, shift[k])) for k in (8, 9, 10))
    act4, act1 = Act16("logistic", v[i_t], 4 * ns), Act16("tanh", v[i_t], ns)
    xb, hb, ef = np.empty(ni), np.empty(ns), np.empty(4 * ns)
    g, e, q = (np.empty(4 * ns, np.int64) for _ in range(3))
    gi, gf, gc, go = (g[k * ns:(k + 1) * ns] for k in range(4))
    sc = q[2 * ns:3 * ns]  # the cell gate's pre-activation, kept for its tanh
    cb, p1, p2, r1, r2 = (np.empty(ns, np.int64) for _ in range(5))
    steps = []
    for b in range(nb):
        for t in range(nt):
            row = t * nb + b if tm else b * nt + t
            steps.append((x[row * ni:(row + 1) * ni], y[row * ns:(row + 1) * ns],
                          h[b * ns:(b + 1) * ns], c[b * ns:(b + 1) * ns]))
    dot, copyto, add, multiply = np.dot, np.copyto, np.add, np.multiply

    def clip(a, lo, hi):
        # two ufuncs: np.clip's Python wrapper allocates on every call
        np.maximum(a, lo, out=a)
        np.minimum(a, hi, out=a)

    def run():
        for xv, yv, hv, cv in steps:
            copyto(xb, xv)
            dot(wx, xb, out=ef)
            copyto(e, ef, casting="unsafe")
            add(e, bx, out=e)
            fc_x(e, q)
            clip(q, -32768, 32767)
            copyto(hb, hv)
            dot(wh, hb, out=ef)
            copyto(e, ef, casting="unsafe")
            add(e, bh, out=e)
            fc_h(e, g)
            clip(g, -32768, 32767)
            add(q, g, out=q)
            clip(q, -32768, 32767)
            copyto(e, q)
            act4(e, g, 3, 0)     # sigmoid on every row; the cell gate's is replaced next
            act1(sc, gc, 3, 0)
            copyto(cb, cv)
            multiply(gf, cb, out=p1)
            mul_f(p1, r1)
            clip(r1, -32768, 32767)
            multiply(gi, gc, out=p2)
            mul_i(p2, r2)
            clip(r2, -32768, 32767)
            add(r1, r2, out=r1)
            clip(r1, -32768, 32767)
            if qclip:
                clip(r1, -qclip, qclip)
            copyto(cv, r1, casting="unsafe")
            act1(r1, r2, tmul, tsh)
            multiply(r2, go, out=p1)
            mul_o(p1, r1)
            add(r1, hzp, out=r1)
            clip(r1, lo, hi)
            copyto(hv, r1, casting="unsafe")
            copyto(yv, r1, casting="unsafe")
    return run
