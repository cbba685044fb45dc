# DEPTHWISE_CONV_2D, numpy, allocation-free. With one input channel the op is an ordinary
# convolution with OC = depth_multiplier filters (_conv_common's banded im2col + GEMM).
# Otherwise, per GEMM band of output rows (bands as in _conv_common.Geometry):
# 1. im2col into tap-major scratch col (T, R, OC) (T = KH*KW taps, R output pixels), one
#    strided copy from the float32 zero-point-padded staging; a stride-0 axis repeats each
#    input channel depth_multiplier times;
# 2. col *= filter tile (T, R, OC) (the filter repeated over R: numpy runs an in-place ufunc
#    without allocating only on equal shapes, so the tile is built once at bind time, a
#    constant outside the arena);
# 3. the sum over taps as one BLAS product ones(1, T) @ col (T, R*OC) into the band's rows
#    of the float accumulator; then, per requantization band, requant.Plan's steps.
# Exactness: float sums of at most T products of magnitude <= 2**14, under the bound of
# _conv_common.py (checked; float64 otherwise).
import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _conv_common as cc
from .requant import Plan, packed_acc, run_steps, setitem


def _geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, isz):
    return cc.Geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, kh * kw * yshape[3] * isz,
                       force_stage=True)


def scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, w2, bias):
    """w2: the filter as (OC, KH*KW) rows; bias: the folded bias (pack time)."""
    if xshape[3] == 1:
        return cc.scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, w2, bias)
    isz = np.dtype(cc.gemm_dtype(w2, bias)[0]).itemsize
    return _geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, isz).total


def constants(w, bias, mult, shift, params):
    """The np-only extra input (pack time): requantization constants for filter (1,KH,KW,OC)."""
    return cc.constants(w.reshape(-1, w.shape[3]).T, bias, mult, shift, *params[7:10])


def bind(op, m, v, arena):
    # inputs: x, filter, bias, multiplier, shift [, constants() (packed for this kernel set)]
    x, w, bias, mult, shift = [v[i] for i in op.inputs[:5]]
    packed = v[op.inputs[5]] if len(op.inputs) > 5 else None
    if packed is None:
        packed = constants(np.asarray(w), bias, mult, shift, op.params)
    y = v[op.outputs[0]]
    _, kh, kw, oc = w.shape
    if x.shape[3] == 1:  # one input channel: an ordinary convolution with OC filters
        w4 = np.ascontiguousarray(np.asarray(w).reshape(kh, kw, oc).transpose(2, 0, 1)).reshape(oc, kh, kw, 1)
        return run_steps(cc.conv_steps(x, w4, bias, mult, shift, y, op.params[:10], arena, op.scratch_offset,
                                       packed))
    return run_steps(_steps(x, w, bias, packed, y, op.params, arena, op.scratch_offset))


def _steps(x, w, bias, packed, y, params, arena, offset):
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi, dm = params[:11]
    _, kh, kw, oc = w.shape
    n, oh, ow, _ = y.shape
    c = x.shape[3]
    taps = kh * kw
    w2 = np.asarray(w).reshape(taps, oc)
    ft = packed_acc(packed)
    isz = np.dtype(ft).itemsize
    g = _geometry(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl, isz)
    steps, st = cc.stage_steps(x, arena, offset, g, in_zp, pt, pl)
    # tap-major windows with the channel axis split as (C, depth_multiplier), dm repeating
    s = st.strides
    win = as_strided(st, shape=(n, kh, kw, oh, ow, c, dm),
                     strides=(s[0], s[1] * dh, s[2] * dw, s[1] * sh, s[2] * sw, s[3], 0), writeable=False)
    rows = g.rows
    col = np.frombuffer(arena, ft, (g.s_at - g.col_at) // isz, offset + g.col_at)
    sg = np.frombuffer(arena, np.int64, rows * oc, offset + g.s_at).reshape(rows, oc)
    acc = np.frombuffer(arena, ft, rows * oc, offset + g.s_at)  # sg's bytes, see Plan.steps
    t = np.frombuffer(arena, np.int64, rows * oc, offset + g.t_at).reshape(rows, oc)
    plan = Plan(None, None, out_off, lo, hi, oc, rows=rows, packed=packed)
    b = plan.tile(np.asarray(bias).reshape(-1), ft)
    ones = np.ones((1, taps), ft)
    tiles = {}
    for i, y0, y1, subs in g.bands(n):
        for g0, g1 in subs:
            r = (g1 - g0) * ow
            if r not in tiles:  # the filter repeated over the band's pixels (a constant)
                tiles[r] = np.ascontiguousarray(np.broadcast_to(w2.astype(ft)[:, None, :], (taps, r, oc)))
            cb = col[:taps * r * oc]
            c3 = cb.reshape(taps, r, oc)
            steps.append((setitem, (cb.reshape(kh, kw, g1 - g0, ow, c, dm), Ellipsis, win[i, :, :, g0:g1])))
            steps.append((np.multiply, (c3, tiles[r], c3)))
            a0 = (g0 - y0) * ow * oc
            steps.append((np.matmul, (ones, cb.reshape(taps, r * oc), acc[a0:a0 + r * oc].reshape(1, r * oc))))
        r = (y1 - y0) * ow
        steps += plan.steps(acc[:r * oc].reshape(r, oc), t[:r], sg[:r], y[i, y0:y1].reshape(r, oc), b)
    return steps
