# int16x8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED, numpy, allocation-free: int16
# activations (zero points 0), int8 weights, an int64 or int32 bias (kernels/quant.py
# requant_int16x8 is the scalar specification). Algorithm:
# 1. The sums run in float64: every product is at most 2**15 * 2**7 and the packer checks
#    that each channel's sum of |products| stays below 2**53 (prepare/common.py int16_tail),
#    so every partial sum is an exact integer, in any order (BLAS, einsum).
#    CONV_2D: _conv_common's staging, banded im2col and GEMM (the staging and the im2col in
#    float64, the padding value 0); DEPTHWISE_CONV_2D: one einsum over the staged windows;
#    FULLY_CONNECTED: widen x, one GEMM.
# 2. Per band of output rows the exact sums go to int64 and get the bias; then TFLite's
#    requantization for the bias type (Requant16), every ufunc writing a buffer none of its
#    operands use (numpy serves an in-place one-element ufunc through a temporary copy):
#    int64 bias: x * rm + 2**(t-1) >> t (rm the multiplier rounded to 16 bits, t = 15 - shift),
#    truncated to int32; int32 bias: the int32 wrap (the reference's int32 accumulator and
#    its left shift wrap, only the sum mod 2**32 matters), then the double rounding in the
#    merged form of requant.py's header: (x*M + K + (x & mask)) >> S.
# 3. Clamp to the activation range and store as int16.
# Per-channel constants are tiled to the band shape at bind time (numpy buffers a broadcast
# operand); uniform ones are 0-d arrays (see requant.py).
import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _conv_common as cc
from ._exact import mbqm64_operands
from .requant import clamp_steps, setitem

I32 = 1 << 31


def _c64(v):
    return np.array(v, np.int64)


class Requant16:
    """The steps of y = clamp(requant(acc + bias)) over (r, n) bands of at most `rows` rows."""

    def __init__(self, bias, mult, shift, wide, lo, hi, n, rows):
        m = np.asarray(mult, np.int64).reshape(-1)
        s = np.asarray(shift, np.int64).reshape(-1)
        self.wide = wide
        if wide:  # kernels/quant.mbqm64
            rm, t = mbqm64_operands(m, s)
            vecs = {"left": np.zeros(n, np.int64), "mult": rm, "k": np.int64(1) << (t - 1), "s": t,
                    "mask": np.zeros(n, np.int64)}
        else:  # kernels/quant.mbqm, merged as in requant.py's header (e = right shift)
            e = np.maximum(-s, 0)
            vecs = {"left": np.maximum(s, 0), "mult": m,
                    "k": (1 << 30) + np.where(e > 0, np.int64(1) << (30 + e), 0), "s": 31 + e,
                    "mask": np.where(e > 0, -I32, 0)}
        vecs["bias"] = np.asarray(bias, np.int64).reshape(-1)
        self.c = {}
        for key, vec in vecs.items():
            vec = np.asarray(vec, np.int64)
            if (vec == vec[0]).all():
                self.c[key] = _c64(vec[0])
            else:  # a constant derived at bind time, kept outside the arena like the model's own
                self.c[key] = np.ascontiguousarray(np.broadcast_to(vec, (rows, n)))
        self.has_left = bool(vecs["left"].any())
        self.has_mask = bool(vecs["mask"].any())
        self.lo, self.hi = _c64(lo), _c64(hi)

    def steps(self, acc, a, b, c, y):
        """acc: float64 (r, n) exact sums, dead after the first step (b may share its bytes);
        a, b, c: int64 (r, n) scratch; y: the int16 (r, n) output."""
        r = acc.shape[0]

        def k(name):
            v = self.c[name]
            return v if v.ndim == 0 else v[:r]
        out = [(setitem, (a, Ellipsis, acc)), (np.add, (a, k("bias"), b))]
        cur, other = b, a

        def step(fn, operand):
            nonlocal cur, other
            out.append((fn, (cur, operand, other)))
            cur, other = other, cur
        if self.wide:
            step(np.multiply, k("mult"))
            step(np.add, k("k"))
            step(np.right_shift, k("s"))
            step(np.left_shift, _c64(32))   # truncate to int32: keep the low 32 bits, signed
            step(np.right_shift, _c64(32))
        else:
            if self.has_left:
                step(np.left_shift, k("left"))
            step(np.left_shift, _c64(32))   # the int32 wrap
            step(np.right_shift, _c64(32))
            if self.has_mask:
                out.append((np.bitwise_and, (cur, k("mask"), c)))
            step(np.multiply, k("mult"))
            step(np.add, k("k"))
            if self.has_mask:
                step(np.add, c)
            step(np.right_shift, k("s"))
        out += clamp_steps(cur, self.lo, self.hi, other)
        out.append((setitem, (y, Ellipsis, other)))
        return out


def _views(arena, offset, rows, n, at):
    return [np.frombuffer(arena, np.int64, rows * n, offset + o).reshape(rows, n) for o in at]


# -- CONV_2D ------------------------------------------------------------------------------------
def _conv_geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl):
    """_conv_common.Geometry in float64 (staging and im2col), plus a third int64 band buffer."""
    g = cc.Geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, kh * kw * xshape[3] * 8, stage_isz=8)
    g.c_at = g.total
    g.total += cc.r16(g.rows * yshape[3] * 8)
    return g


def conv_scratch(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl):
    return _conv_geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl).total


def conv_steps(x, w4, bias, mult, shift, y, params, arena, offset, wide):
    sh, sw, dh, dw, pt, pl, _, _, lo, hi = params[:10]
    oc, kh, kw, c = w4.shape
    n, oh, ow, _ = y.shape
    k = kh * kw * c
    g = _conv_geometry(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl)
    wt = np.ascontiguousarray(np.asarray(w4).reshape(oc, k).T.astype(np.float64))  # bind-time constant
    steps, src = cc.stage_steps(x, arena, offset, g, 0, pt, pl)
    win = cc.windows(src, y.shape, kh, kw, dh, dw, sh, sw)
    rows = g.rows
    col = np.frombuffer(arena, np.float64, (g.s_at - g.col_at) // 8, offset + g.col_at)
    acc = np.frombuffer(arena, np.float64, rows * oc, offset + g.s_at).reshape(rows, oc)
    b, a, cbuf = _views(arena, offset, rows, oc, (g.s_at, g.t_at, g.c_at))  # b: acc's bytes
    rq = Requant16(bias, mult, shift, wide, lo, hi, oc, rows)
    for i, y0, y1, subs in g.bands(n):
        steps += cc.gemm_steps(col, win, wt, acc, i, y0, subs)
        r = (y1 - y0) * ow
        steps += rq.steps(acc[:r], a[:r], b[:r], cbuf[:r], y[i, y0:y1].reshape(r, oc))
    return steps


# -- DEPTHWISE_CONV_2D --------------------------------------------------------------------------
def _dw_geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl):
    """The float64 staging copy, the whole float64 accumulator (acc_at), then three int64
    band buffers."""
    g = cc.Geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, 0, force_stage=True, stage_isz=8)
    g.acc_at = g.col_at
    band = cc.r16(g.rows * yshape[3] * 8)
    g.s_at = g.acc_at + cc.r16(yshape[0] * yshape[1] * yshape[2] * yshape[3] * 8)
    g.t_at = g.s_at + band
    g.c_at = g.t_at + band
    g.total = g.c_at + band
    return g


def depthwise_scratch(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl):
    return _dw_geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl).total


try:  # numpy's C einsum: the np.einsum wrapper retains a little memory on every call
    from numpy._core.multiarray import c_einsum
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import c_einsum


def _einsum(spec, a, b, out):
    c_einsum(spec, a, b, out=out)


def depthwise_steps(x, w, bias, mult, shift, y, params, arena, offset, wide):
    sh, sw, dh, dw, pt, pl, _, _, lo, hi, dm = params[:11]
    _, kh, kw, oc = w.shape
    n, oh, ow, _ = y.shape
    c = x.shape[3]
    g = _dw_geometry(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl)
    steps, st = cc.stage_steps(x, arena, offset, g, 0, pt, pl)
    s = st.strides  # the receptive fields (N, OH, OW, KH, KW, C, depth_multiplier), dm a stride-0 axis
    win = as_strided(st, shape=(n, oh, ow, kh, kw, c, dm),
                     strides=(s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3], 0), writeable=False)
    acc = np.frombuffer(arena, np.float64, n * oh * ow * oc, offset + g.acc_at)
    wf = np.asarray(w).reshape(kh, kw, c, dm).astype(np.float64)  # bind-time constant
    steps.append((_einsum, ("nhwijcd,ijcd->nhwcd", win, wf, acc.reshape(n, oh, ow, c, dm))))
    rows = g.rows
    b, a, cbuf = _views(arena, offset, rows, oc, (g.s_at, g.t_at, g.c_at))
    rq = Requant16(bias, mult, shift, wide, lo, hi, oc, rows)
    acc2 = acc.reshape(n * oh * ow, oc)
    for i, y0, y1, _ in g.bands(n):
        r = (y1 - y0) * ow
        a0 = (i * oh + y0) * ow
        steps += rq.steps(acc2[a0:a0 + r], a[:r], b[:r], cbuf[:r], y[i, y0:y1].reshape(r, oc))
    return steps


# -- FULLY_CONNECTED ----------------------------------------------------------------------------
def _fc_layout(batches, n, k):
    """Offsets of the float64 input copy, then three int64 (batches, n) buffers (the first also
    holds the float64 product)."""
    b_at = cc.r16(batches * k * 8)
    band = cc.r16(batches * n * 8)
    return b_at, b_at + band, b_at + 2 * band, b_at + 3 * band


def fc_scratch(batches, n, k):
    return _fc_layout(batches, n, k)[3]


def fc_steps(x, w, bias, mult, shift, y, params, arena, offset, wide):
    _, lo, hi = params[:3]
    n, k = w.shape
    batches = x.size // k
    b_at, a_at, c_at, _ = _fc_layout(batches, n, k)
    xf = np.frombuffer(arena, np.float64, batches * k, offset).reshape(batches, k)
    acc = np.frombuffer(arena, np.float64, batches * n, offset + b_at).reshape(batches, n)
    b, a, cbuf = _views(arena, offset, batches, n, (b_at, a_at, c_at))
    wt = np.ascontiguousarray(np.asarray(w).T.astype(np.float64))  # bind-time constant
    rq = Requant16(bias, mult, shift, wide, lo, hi, n, batches)
    steps = [(setitem, (xf, Ellipsis, x.reshape(batches, k))), (np.matmul, (xf, wt, acc))]
    return steps + rq.steps(acc, a, b, cbuf, y.reshape(batches, n))
