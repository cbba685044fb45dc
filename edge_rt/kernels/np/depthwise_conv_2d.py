# DEPTHWISE_CONV_2D, numpy, allocation-free. With one input channel the op is an ordinary
# convolution with OC = depth_multiplier filters (_conv_common's banded im2col + GEMM).
# Otherwise, per band of output rows:
# 1. im2col into tap-major scratch col (T, R, OC) (T = KH*KW taps, R output pixels), one
#    strided copy from the float32 zero-point-padded staging; a stride-0 axis repeats each
#    input channel depth_multiplier times;
# 2. col *= filter tile (T, R, OC) (the filter repeated over R: numpy only runs in-place
#    ufuncs without allocating on equal shapes, so the tile is built once at bind time, a
#    constant outside the arena);
# 3. acc = sum over the tap axis (one reduction), then requant.Plan's steps.
# Exactness: float32 sums of at most T products of magnitude <= 2**14 plus the bias, under
# the bound of _conv_common.py (checked; float64 otherwise).
import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _conv_common as cc
from .requant import Plan, run_steps


class _Geometry:
    def __init__(self, xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, isz):
        n, h, w, c = xshape
        _, oh, ow, oc = yshape
        taps = kh * kw
        self.g = cc.Geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, isz)
        self.g.stage = True  # the tap-major copy always reads the float32 staging
        stage = cc.r16(n * self.g.hb * self.g.wb * c * 4)
        per_row = ow * oc
        bh = min(oh, max(1, cc.COL_CAP // max(1, taps * per_row * isz)), max(1, cc.OUT_CAP // max(1, per_row)))
        self.bh = max(1, bh)
        rows = self.bh * ow
        self.rows = rows
        self.col_at = stage
        self.acc_at = self.col_at + cc.r16(taps * rows * oc * isz)
        self.t_at = self.acc_at + cc.r16(rows * oc * isz)
        self.s_at = self.t_at + cc.r16(rows * oc * 8)
        self.total = self.s_at + cc.r16(rows * oc * 8)


def scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, w2, bias):
    """w2: the filter as (OC, KH*KW) rows; bias: the folded bias (pack time)."""
    isz = np.dtype(cc.gemm_dtype(w2, bias)[0]).itemsize
    if xshape[3] == 1:
        return cc.scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, w2, bias)
    return _Geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, isz).total


def bind(op, m, v, arena):
    x, w, bias, mult, shift = [v[i] for i in op.inputs]
    y = v[op.outputs[0]]
    _, kh, kw, oc = w.shape
    if x.shape[3] == 1:  # one input channel: an ordinary convolution with OC filters
        w4 = np.ascontiguousarray(np.asarray(w).reshape(kh, kw, oc).transpose(2, 0, 1)).reshape(oc, kh, kw, 1)
        return run_steps(cc.conv_steps(x, w4, bias, mult, shift, y, op.params[:10], arena, op.scratch_offset))
    return run_steps(_steps(x, w, bias, mult, shift, y, op.params, arena, op.scratch_offset))


def _steps(x, w, bias, mult, shift, y, params, arena, offset):
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi, dm = params[:11]
    _, kh, kw, oc = w.shape
    n, oh, ow, _ = y.shape
    c = x.shape[3]
    taps = kh * kw
    w2 = np.asarray(w).reshape(taps, oc)
    ft, amax = cc.gemm_dtype(w2.T, bias)
    geo = _Geometry(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl, np.dtype(ft).itemsize)
    steps, st = cc.stage_steps(x, arena, offset, geo.g, in_zp, pt, pl)
    # tap-major windows with the channel axis split as (C, depth_multiplier), dm repeating
    s = st.strides
    win = as_strided(st, shape=(n, kh, kw, oh, ow, c, dm),
                     strides=(s[0], s[1] * dh, s[2] * dw, s[1] * sh, s[2] * sw, s[3], 0), writeable=False)
    rows = geo.rows
    col = np.frombuffer(arena, ft, taps * rows * oc, offset + geo.col_at)
    acc = np.frombuffer(arena, ft, rows * oc, offset + geo.acc_at).reshape(rows, oc)
    t = np.frombuffer(arena, np.int64, rows * oc, offset + geo.t_at).reshape(rows, oc)
    sg = np.frombuffer(arena, np.int64, rows * oc, offset + geo.s_at).reshape(rows, oc)
    plan = Plan(mult, shift, out_off, lo, hi, oc, xmax=amax.tolist(), acc=ft, rows=rows)
    b = plan.tile(np.asarray(bias).reshape(-1), ft)
    tiles = {}
    for i, y0, y1 in cc.bands(n, oh, geo.bh):
        r = (y1 - y0) * ow
        if r not in tiles:  # the filter repeated over the band's pixels (a constant)
            tiles[r] = np.ascontiguousarray(np.broadcast_to(w2.astype(ft)[:, None, :], (taps, r, oc)))
        cb = col[:taps * r * oc]
        c3 = cb.reshape(taps, r, oc)
        steps.append((np.copyto, (cb.reshape(kh, kw, y1 - y0, ow, c, dm), win[i, :, :, y0:y1], "unsafe")))
        steps.append((np.multiply, (c3, tiles[r], c3)))
        steps.append((np.add.reduce, (c3, 0, None, acc[:r])))
        steps += plan.steps(acc[:r], t[:r], sg[:r], y[i, y0:y1].reshape(r, oc), b)
    return steps
