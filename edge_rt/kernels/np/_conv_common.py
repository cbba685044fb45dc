# GEMM-based convolution shared by CONV_2D, DEPTHWISE_CONV_2D with one input channel and
# FULLY_CONNECTED, numpy, allocation-free. Algorithm:
# 1. Stage: the (zero-point padded) input is widened to float32 once per run into scratch
#    (only when the filter has several taps or padding; a 1x1 unpadded filter reads x).
# 2. Per band of output rows: im2col (one strided copy into scratch), one BLAS GEMM against
#    the filter transposed to (K, OC) at bind time, then the requantization steps of
#    requant.Plan (bias, clamp, double rounding) into the output rows.
# Exactness: the accumulator is sum_k x*w over raw int8 values (the zero point is folded
# into the bias at pack time, padded taps hold the zero point), so every partial sum of
# channel c is bounded by A_c = 128 * sum_k |w_ck|, and x = acc + bias by A_c + |bias_c|.
# Integers up to 2**24 are exact in float32 and every sum of exact integers whose result is
# an integer of magnitude <= 2**24 is exact (also through FMA), in any summation order; so
# float32 is exact when max_c A_c + |bias_c| <= 2**24 (K <= 1024 suffices: |x*w| <= 2**14),
# else we use float64 (exact to 2**53). Bands bound the scratch (COL_CAP bytes of im2col,
# OUT_CAP output elements) so the np arena stays within a board's L2 budget.
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .requant import Plan

COL_CAP = 96 * 1024   # im2col bytes per band
OUT_CAP = 4096        # output elements per band (accumulator, int64 requant buffers, tiles)


def r16(n):
    return (n + 15) // 16 * 16


def padded_size(in_size, out_size, k, dilation, stride):
    return (out_size - 1) * stride + (k - 1) * dilation + 1


def gemm_dtype(w2, bias):
    """float32 when the bound above holds for filter rows w2 (OC, K) and bias, else float64."""
    a = 128 * np.abs(w2.astype(np.int64)).sum(axis=1) + np.abs(np.asarray(bias, np.int64).reshape(-1))
    return (np.float32 if int(a.max(initial=0)) <= 1 << 24 else np.float64), a


class Geometry:
    """Scratch layout of one convolution; the same arithmetic serves scratch_bytes (pack time)
    and bind, so the declaration and the kernel cannot drift apart."""

    def __init__(self, xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, isz):
        n, h, w, c = xshape
        _, oh, ow, oc = yshape
        k = kh * kw * c
        hp = padded_size(h, oh, kh, dh, sh)
        wp = padded_size(w, ow, kw, dw, sw)
        self.pad = pt > 0 or pl > 0 or hp > h or wp > w
        self.stage = self.pad or kh * kw > 1
        self.hb, self.wb = max(hp, pt + 1), max(wp, pl + 1)
        self.h_in, self.w_in = min(h, self.hb - pt), min(w, self.wb - pl)  # input rows/cols read
        stage_bytes = r16(n * self.hb * self.wb * c * 4) if self.stage else 0
        bh = min(oh, max(1, COL_CAP // max(1, ow * k * isz)), max(1, OUT_CAP // max(1, ow * oc)))
        self.bh = max(1, bh)
        rows = self.bh * ow
        self.rows = rows
        self.col_at = stage_bytes
        self.acc_at = self.col_at + r16(rows * k * isz)
        self.t_at = self.acc_at + r16(rows * oc * isz)
        self.s_at = self.t_at + r16(rows * oc * 8)
        self.total = self.s_at + r16(rows * oc * 8)


def stage_steps(x, arena, offset, g, zp, pt, pl):
    """(steps, src): steps refresh the float32 staging copy of x; src is the array windows
    are cut from (the staging buffer, or x itself)."""
    if not g.stage:
        return [], x
    n, h, w, c = x.shape
    st = np.frombuffer(arena, np.float32, n * g.hb * g.wb * c, offset).reshape(n, g.hb, g.wb, c)
    steps = []
    if g.pad:  # the arena is shared over time: the border must be rewritten every run
        steps.append((np.ndarray.fill, (st, np.float32(zp))))
    hi, wi = g.h_in, g.w_in
    steps.append((np.copyto, (st[:, pt:pt + hi, pl:pl + wi, :], x[:, :hi, :wi, :], "unsafe")))
    return steps, st


def windows(src, yshape, kh, kw, dh, dw, sh, sw):
    """Read-only view (N, OH, OW, KH, KW, C) of the receptive fields over src."""
    n, oh, ow = yshape[0], yshape[1], yshape[2]
    s = src.strides
    return as_strided(src, shape=(n, oh, ow, kh, kw, src.shape[3]),
                      strides=(s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]), writeable=False)


def bands(n, oh, bh):
    return [(i, y0, min(oh, y0 + bh)) for i in range(n) for y0 in range(0, oh, bh)]


def conv_steps(x, w4, bias, mult, shift, y, params, arena, offset):
    """Steps of a convolution: x (N,H,W,C) int8, w4 (OC,KH,KW,C) int8 filter, y (N,OH,OW,OC);
    params = [sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi]."""
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi = params[:10]
    oc, kh, kw, c = w4.shape
    n, oh, ow, _ = y.shape
    k = kh * kw * c
    w2 = np.asarray(w4).reshape(oc, k)
    ft, amax = gemm_dtype(w2, bias)
    isz = np.dtype(ft).itemsize
    g = Geometry(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl, isz)
    # the filter transposed to (K, OC) in the GEMM dtype: a constant derived once at bind
    # time, kept outside the arena like the model's own constants
    wt = np.ascontiguousarray(w2.T.astype(ft))
    steps, src = stage_steps(x, arena, offset, g, in_zp, pt, pl)
    win = windows(src, y.shape, kh, kw, dh, dw, sh, sw)
    rows = g.rows
    col = np.frombuffer(arena, ft, rows * k, offset + g.col_at)
    acc = np.frombuffer(arena, ft, rows * oc, offset + g.acc_at).reshape(rows, oc)
    t = np.frombuffer(arena, np.int64, rows * oc, offset + g.t_at).reshape(rows, oc)
    s = np.frombuffer(arena, np.int64, rows * oc, offset + g.s_at).reshape(rows, oc)
    plan = Plan(mult, shift, out_off, lo, hi, oc, xmax=amax.tolist(), acc=ft, rows=rows)
    b = plan.tile(np.asarray(bias).reshape(-1), ft)
    for i, y0, y1 in bands(n, oh, g.bh):
        r = (y1 - y0) * ow
        cb = col[:r * k]
        steps.append((np.copyto, (cb.reshape(y1 - y0, ow, kh, kw, c), win[i, y0:y1], "unsafe")))
        steps.append((np.matmul, (cb.reshape(r, k), wt, acc[:r])))
        steps += plan.steps(acc[:r], t[:r], s[:r], y[i, y0:y1].reshape(r, oc), b)
    return steps


def scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, w2, bias):
    """Scratch of conv_steps for filter rows w2 (OC, K) and the folded bias (pack time)."""
    isz = np.dtype(gemm_dtype(w2, bias)[0]).itemsize
    return Geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, isz).total
