# GEMM-based convolution shared by CONV_2D, DEPTHWISE_CONV_2D with one input channel and
# FULLY_CONNECTED, numpy, allocation-free. Algorithm:
# 1. Stage: the (zero-point padded) input is widened to float32 once per run into scratch
#    (only when the filter has several taps or padding; a 1x1 unpadded filter reads x).
# 2. Per GEMM band of output rows (COL_CAP bytes of im2col): im2col (one strided copy into
#    scratch) and one BLAS GEMM against the filter transposed to (K, OC) at bind time, into
#    the float accumulator of the enclosing requantization band (OUT_CAP elements);
# 3. per requantization band, the steps of requant.Plan (bias, clamp, double rounding) into
#    the output rows. Fewer, larger bands mean fewer numpy calls; the caps bound scratch.
# Exactness: the accumulator is sum_k x*w over raw int8 values (the zero point is folded
# into the bias at pack time, padded taps hold the zero point), so every partial sum of
# channel c is bounded by A_c = 128 * sum_k |w_ck|, and x = acc + bias by A_c + |bias_c|.
# Integers up to 2**24 are exact in float32 and every sum of exact integers whose result is
# an integer of magnitude <= 2**24 is exact (also through FMA), in any summation order; so
# float32 is exact when max_c A_c + |bias_c| <= 2**24 (K <= 1024 suffices: |x*w| <= 2**14),
# else we use float64 (exact to 2**53).
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .requant import Plan, packed_acc, plan_constants, setitem

COL_CAP = 256 * 1024  # im2col bytes per GEMM band
OUT_CAP = 8192        # output elements per requantization band (16 bytes each: the int64
                      # buffers; the float accumulator shares the second one's bytes)


def r16(n):
    return (n + 15) // 16 * 16


def padded_size(in_size, out_size, k, dilation, stride):
    return (out_size - 1) * stride + (k - 1) * dilation + 1


def gemm_dtype(w2, bias):
    """float32 when the bound above holds for filter rows w2 (OC, K) and bias, else float64."""
    a = 128 * np.abs(w2.astype(np.int64)).sum(axis=1) + np.abs(np.asarray(bias, np.int64).reshape(-1))
    return (np.float32 if int(a.max(initial=0)) <= 1 << 24 else np.float64), a


def constants(w2, bias, mult, shift, out_off, lo, hi):
    """The requantization constants (requant.plan_constants) of a weighted op with filter
    rows w2 (OC, K): the packer stores them as the op's extra input for this kernel set, as
    int32 pairs (requant.as_int64)."""
    ft, amax = gemm_dtype(w2, bias)
    araw = 128 * np.abs(np.asarray(w2, np.int64)).sum(axis=1)  # |accumulator| before the bias
    return plan_constants(mult, shift, out_off, lo, hi, len(amax), xmax=amax.tolist(), acc=ft,
                          bias=np.asarray(bias, np.int64).reshape(-1), amax=araw).view(np.int32)


def split(total, most):
    """total rows in the fewest bands of at most `most` rows, as even as possible."""
    nb = -(-total // max(1, most))
    size = -(-total // nb)
    return [(a, min(total, a + size)) for a in range(0, total, size)]


class Geometry:
    """Scratch layout and bands of one convolution; the same arithmetic serves
    scratch_bytes (pack time) and bind, so the declaration and the kernel cannot drift.
    col_row: im2col bytes per output pixel."""

    def __init__(self, xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, col_row, force_stage=False, stage_isz=4):
        n, h, w, c = xshape
        _, oh, ow, oc = yshape
        hp = padded_size(h, oh, kh, dh, sh)
        wp = padded_size(w, ow, kw, dw, sw)
        self.pad = pt > 0 or pl > 0 or hp > h or wp > w
        self.stage = self.pad or kh * kw > 1 or force_stage
        self.hb, self.wb = max(hp, pt + 1), max(wp, pl + 1)
        self.h_in, self.w_in = min(h, self.hb - pt), min(w, self.wb - pl)  # input rows/cols read
        self.stage_dtype = np.float32 if stage_isz == 4 else np.float64
        stage_bytes = r16(n * self.hb * self.wb * c * stage_isz) if self.stage else 0
        # requantization bands of whole output rows, each split into GEMM bands
        self.out_bands = split(oh, OUT_CAP // max(1, ow * oc))
        out_rows = max(b - a for a, b in self.out_bands)
        self.col_rows = max(1, COL_CAP // max(1, ow * col_row))
        col_rows = max(b - a for a, b in split(out_rows, self.col_rows))
        self.col_at = stage_bytes
        self.s_at = self.col_at + r16(col_rows * ow * col_row)
        self.t_at = self.s_at + r16(out_rows * ow * oc * 8)
        self.total = self.t_at + r16(out_rows * ow * oc * 8)
        self.rows = out_rows * ow

    def bands(self, n):
        """[(image, y0, y1, [(g0, g1), ...])]: requant bands with their GEMM sub-bands."""
        return [(i, a, b, [(a + u, a + v) for u, v in split(b - a, self.col_rows)])
                for i in range(n) for a, b in self.out_bands]


def stage_steps(x, arena, offset, g, zp, pt, pl):
    """(steps, src): steps refresh the float32 staging copy of x; src is the array windows
    are cut from (the staging buffer, or x itself)."""
    if not g.stage:
        return [], x
    n, h, w, c = x.shape
    st = np.frombuffer(arena, g.stage_dtype, n * g.hb * g.wb * c, offset).reshape(n, g.hb, g.wb, c)
    steps = []
    if g.pad:  # the arena is shared over time: the border must be rewritten every run
        steps.append((np.ndarray.fill, (st, g.stage_dtype(zp))))
    hi, wi = g.h_in, g.w_in
    steps.append((setitem, (st[:, pt:pt + hi, pl:pl + wi, :], Ellipsis, x[:, :hi, :wi, :])))
    return steps, st


def windows(src, yshape, kh, kw, dh, dw, sh, sw):
    """Read-only view (N, OH, OW, KH, KW, C) of the receptive fields over src."""
    n, oh, ow = yshape[0], yshape[1], yshape[2]
    s = src.strides
    return as_strided(src, shape=(n, oh, ow, kh, kw, src.shape[3]),
                      strides=(s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]), writeable=False)


def gemm_steps(col, win, wt, acc, i, y0, subs):
    """Steps of one band's sub-bands (g0, g1) of batch i: im2col of the receptive fields win into
    col (one strided copy), then their GEMM with wt (K, OC) into the band's rows of acc."""
    _, _, ow, kh, kw, c = win.shape
    k = kh * kw * c
    steps = []
    for g0, g1 in subs:
        r = (g1 - g0) * ow
        cb = col[:r * k]
        steps.append((setitem, (cb.reshape(g1 - g0, ow, kh, kw, c), Ellipsis, win[i, g0:g1])))
        steps.append((np.matmul, (cb.reshape(r, k), wt, acc[(g0 - y0) * ow:(g1 - y0) * ow])))
    return steps


def conv_steps(x, w4, bias, mult, shift, y, params, arena, offset, packed=None):
    """Steps of a convolution: x (N,H,W,C) int8, w4 (OC,KH,KW,C) int8 filter, y (N,OH,OW,OC);
    params = [sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi]; packed: constants() of the
    op from the file (computed here when absent)."""
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi = params[:10]
    oc, kh, kw, c = w4.shape
    n, oh, ow, _ = y.shape
    k = kh * kw * c
    w2 = np.asarray(w4).reshape(oc, k)
    if packed is None:
        packed = constants(w2, bias, mult, shift, out_off, lo, hi)
    ft = packed_acc(packed)
    isz = np.dtype(ft).itemsize
    g = Geometry(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl, k * isz)
    # the filter transposed to (K, OC) in the GEMM dtype: a constant derived once at bind
    # time, kept outside the arena like the model's own constants
    wt = np.ascontiguousarray(w2.T.astype(ft))
    steps, src = stage_steps(x, arena, offset, g, in_zp, pt, pl)
    win = windows(src, y.shape, kh, kw, dh, dw, sh, sw)
    rows = g.rows
    col = np.frombuffer(arena, ft, (g.s_at - g.col_at) // isz, offset + g.col_at)
    s = np.frombuffer(arena, np.int64, rows * oc, offset + g.s_at).reshape(rows, oc)
    acc = np.frombuffer(arena, ft, rows * oc, offset + g.s_at).reshape(rows, oc)  # s's bytes
    t = np.frombuffer(arena, np.int64, rows * oc, offset + g.t_at).reshape(rows, oc)
    plan = Plan(mult, shift, out_off, lo, hi, oc, rows=rows, packed=packed)
    b = plan.tile(np.asarray(bias).reshape(-1), ft)
    # the im2col band is dead once its GEMM ran: the spare a one-element output's
    # requantization needs (at least 16 bytes: the region is rounded up to 16)
    spare = np.frombuffer(arena, np.uint8, g.s_at - g.col_at, offset + g.col_at)
    for i, y0, y1, subs in g.bands(n):
        steps += gemm_steps(col, win, wt, acc, i, y0, subs)
        r = (y1 - y0) * ow
        steps += plan.steps(acc[:r], t[:r], s[:r], y[i, y0:y1].reshape(r, oc), b, spare=spare)
    return steps


def scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, w2, bias):
    """Scratch of conv_steps for filter rows w2 (OC, K) and the folded bias (pack time)."""
    isz = np.dtype(gemm_dtype(w2, bias)[0]).itemsize
    return Geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, w2.shape[1] * isz).total
