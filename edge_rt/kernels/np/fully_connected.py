# FULLY_CONNECTED, numpy: one BLAS product on integer-valued floats (the exactness bound is
# the convolution's, see _conv_common.py) and the vectorized requantization, in planned
# scratch: widen x, product, then requant.Plan's steps (clamp, double rounding). The bias
# rides in the product: x gets a constant 1 appended (rewritten every run, the arena being
# shared; for batch 1 x is widened into a private vector instead, which keeps its 1) and the
# weights a bias row, which keeps the bound (it already counts |bias|).
#
# Small matrix-vector products (at most FOLD_MAX weights, batch 1) are dominated by the fixed
# cost of each numpy call, so when exactness allows they run the requantization inside the
# product instead (_folded): 5 numpy calls in all instead of 8.
import numpy as np

from ._conv_common import constants as _constants, gemm_dtype, r16
from .requant import HEADER, ROWS, Plan, as_int64, clamp_steps, packed_acc, run_steps, setitem

FOLD_MAX = 20000  # weights (N * (K+1)); above it float64's slower product costs more than it saves


def _layout(batches, n, k, isz):
    s_at = r16(batches * (k + 1) * isz)
    t_at = s_at + r16(batches * n * 8)
    return s_at, t_at, t_at + r16(batches * n * 8)


def scratch_bytes(batches, n, k, w2, bias):
    return _layout(batches, n, k, np.dtype(gemm_dtype(w2, bias)[0]).itemsize)[2]


def constants(w, bias, mult, shift, params):
    """The np-only extra input (pack time): requantization constants for weights (N, K)."""
    return _constants(w, bias, mult, shift, *params[:3])


def bind(op, m, v, arena):
    # inputs: x, weights, bias, multiplier, shift [, constants() (packed for this kernel set)]
    x, w, bias, mult, shift = [v[i] for i in op.inputs[:5]]
    packed = v[op.inputs[5]] if len(op.inputs) > 5 else constants(np.asarray(w), bias, mult, shift, op.params)
    y = v[op.outputs[0]]
    out_off, lo, hi = op.params[:3]
    n, k = w.shape
    batches = x.size // k
    ft = packed_acc(packed)
    s_at, t_at, _ = _layout(batches, n, k, np.dtype(ft).itemsize)
    o = op.scratch_offset
    if batches == 1 and n * (k + 1) <= FOLD_MAX:
        f = _folded(np.asarray(w), np.asarray(bias).reshape(n), as_int64(packed), n, k)
        if f is not None:
            wm, vlo, vhi = f
            xd = np.ones(k + 1, np.float64)  # private (the 1 stays): bind-time, like wm
            v = np.frombuffer(arena, np.float64, n, o + s_at)
            u = np.frombuffer(arena, np.float64, n, o + t_at)
            steps = [(setitem, (xd[:k], Ellipsis, x.reshape(k))), (np.dot, (wm, xd, v))]
            steps += clamp_steps(v, vlo, vhi, u, v)
            return run_steps(steps + [(np.floor, (u, v)), (setitem, (y.reshape(n), Ellipsis, v))])
    xf = np.frombuffer(arena, ft, batches * (k + 1), o).reshape(batches, k + 1)
    s = np.frombuffer(arena, np.int64, batches * n, o + s_at).reshape(batches, n)
    acc = np.frombuffer(arena, ft, batches * n, o + s_at).reshape(batches, n)  # s's bytes
    t = np.frombuffer(arena, np.int64, batches * n, o + t_at).reshape(batches, n)
    # [weights | bias] in the GEMM dtype, (N, K+1): a constant derived at bind time, kept
    # outside the arena like the model's own constants
    wb = np.empty((n, k + 1), ft)
    setitem(wb[:, :k], Ellipsis, w)   # one converting copy each, no int32 temporary
    setitem(wb[:, k], Ellipsis, bias.reshape(n))
    plan = Plan(None, None, out_off, lo, hi, n, rows=batches, packed=packed)
    if batches == 1:  # matrix-vector: np.dot of (N, K+1) by (K+1,) is the cheapest BLAS call
        # the widened input is private (1/N of wb's size), so its constant 1 is written once
        xd = np.ones(k + 1, ft)
        steps = [(setitem, (xd[:k], Ellipsis, x.reshape(k))), (np.dot, (wb, xd, acc[0]))]
    else:
        steps = [(setitem, (xf[:, :k], Ellipsis, x.reshape(batches, k))), (np.ndarray.fill, (xf[:, k:], ft(1))),
                 (np.matmul, (xf, wb.T, acc))]
    # the arena's widened input is dead after the product (unused for batch 1): the spare of
    # a one-element output
    spare = np.frombuffer(arena, np.uint8, batches * (k + 1) * xf.itemsize, o)
    steps += plan.steps(acc, t, s, y.reshape(batches, n), spare=spare if spare.size >= 8 * acc.size else None)
    return run_steps(steps)


def _folded(w, bias, packed, n, k):
    """(wm, vlo, vhi) for the folded requantization, or None when it does not apply.

    The fast requantization plan (see requant.py) computes y = (clamp(x, xlo, xhi) * M + K)
    >> S per channel, without the sign term (has_mask false). With v(x) = (x*M + K) / 2**S,
    an increasing affine map: y = floor(clip(v(x), v(xlo), v(xhi))). The product computes
    v(x) directly in float64 from weights w*M/2**S and a bias column (bias*M + K)/2**S: every
    partial sum any BLAS forms (any order, with FMA or not) is (i*M + [bias*M + K]) / 2**S
    with |i| <= 128 * sum|w|, a multiple of 2**(g-S) (2**g: the largest power of two dividing
    M and K) below 2**(53+g-S) in magnitude when A*M + |K| < 2**(53+g), A = 128 * sum|w| +
    |bias|: representable, so no step rounds and v, the clip bounds and floor are exact."""
    head = packed[:HEADER].tolist()
    if not head[1] or head[2]:  # the general path, or the sign term: not folded
        return None
    xlo, xhi, _, m, kk, ss = packed[HEADER:HEADER + ROWS * n].reshape(ROWS, n)
    wm = np.empty((n, k + 1), np.float64)
    wk = wm[:, :k]
    setitem(wk, Ellipsis, w)
    # A in float64, exact (integers below 2**53 whatever the summation order)
    a = np.abs(wk).sum(axis=1)
    a *= 128.0
    a += np.abs(bias.astype(np.float64))
    a = np.maximum(a, np.maximum(np.abs(xlo), np.abs(xhi)))
    lowbit = (m | kk) & -(m | kk)  # 2**g (nonzero for M > 0)
    # the bound in float64: A < 2**52, M and K converted exactly (checked); the product and
    # sum round by under 2**-51 relative, which the margin covers
    fm, fk = m.astype(np.float64), kk.astype(np.float64)
    bound = np.ldexp(1.0 - 2.0 ** -30, 53) * lowbit.astype(np.float64)
    ok = (m > 0) & (a < 2.0 ** 52) & (fm.astype(np.int64) == m) & (fk.astype(np.int64) == kk)
    if not (ok & (a * fm + np.abs(fk) < bound)).all():
        return None
    # below the bound every value here is a multiple of 2**g under 2**(53+g): each product
    # and sum is exact, and so is the scaling by 2**-S
    wk *= np.ldexp(fm, -ss)[:, None]  # int8 * (M/2**S): exact
    wm[:, k] = np.ldexp(bias.astype(np.float64) * fm + fk, -ss)
    vlo = np.ldexp(xlo * fm + fk, -ss)
    vhi = np.ldexp(xhi * fm + fk, -ss)
    return wm, vlo, vhi
