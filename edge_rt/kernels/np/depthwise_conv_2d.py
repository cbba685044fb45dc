# DEPTHWISE_CONV_2D, numpy, allocation-free. With one input channel the op is an ordinary
# convolution with OC = depth_multiplier filters (_conv_common's banded im2col + GEMM).
# Otherwise: the input is staged once as floats (zero-point padded), then one np.einsum
# over a strided view of the receptive fields (a stride-0 axis repeats each input channel
# depth_multiplier times) sums the taps' products for the whole output into the float
# accumulator -- no im2col copy, no allocation (einsum's own loop, out= given); then, per
# requantization band (as in _conv_common.Geometry), requant.Plan's steps.
# Exactness: float sums of at most T = KH*KW products of magnitude <= 2**14, in any order,
# under the bound of _conv_common.py (checked; float64 otherwise).
import numpy as np
from numpy.lib.stride_tricks import as_strided

# int16 activations (int16x8): _wide.py.
from . import _conv_common as cc
from . import _wide
from .requant import Plan, packed_acc, run_steps


def _geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, isz):
    """Scratch layout: the float staging copy of the input and the whole float accumulator
    (acc_at, N*OH*OW*OC), both in the accumulator dtype (isz bytes: einsum then never mixes
    dtypes, which would make it buffer), then Geometry's requantization band buffers."""
    g = cc.Geometry(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl, 0, force_stage=True, stage_isz=isz)
    g.acc_at = g.col_at
    size = cc.r16(yshape[0] * yshape[1] * yshape[2] * yshape[3] * isz)
    g.s_at += size
    g.t_at += size
    g.total += size
    return g


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
    if x.dtype == np.int16:
        return run_steps(_wide.depthwise_steps(x, w, bias, mult, shift, v[op.outputs[0]], op.params, arena,
                                               op.scratch_offset, bias.dtype == np.int64))
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


try:  # numpy's C einsum: the np.einsum wrapper retains a little memory on every call
    from numpy._core.multiarray import c_einsum
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import c_einsum


def _einsum(spec, a, b, out):
    c_einsum(spec, a, b, out=out)


def _steps(x, w, bias, packed, y, params, arena, offset):
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi, dm = params[:11]
    _, kh, kw, oc = w.shape
    n, oh, ow, _ = y.shape
    c = x.shape[3]
    ft = packed_acc(packed)
    isz = np.dtype(ft).itemsize
    g = _geometry(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl, isz)
    steps, st = cc.stage_steps(x, arena, offset, g, in_zp, pt, pl)
    # the receptive fields (N, OH, OW, KH, KW, C, depth_multiplier), dm a stride-0 axis
    s = st.strides
    win = as_strided(st, shape=(n, oh, ow, kh, kw, c, dm),
                     strides=(s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3], 0), writeable=False)
    acc = np.frombuffer(arena, ft, n * oh * ow * oc, offset + g.acc_at)
    # the filter in the accumulator dtype (a bind-time constant outside the arena)
    wf = np.asarray(w).reshape(kh, kw, c, dm).astype(ft)
    steps.append((_einsum, ("nhwijcd,ijcd->nhwcd", win, wf, acc.reshape(n, oh, ow, c, dm))))
    rows = g.rows
    sg = np.frombuffer(arena, np.int64, rows * oc, offset + g.s_at).reshape(rows, oc)
    t = np.frombuffer(arena, np.int64, rows * oc, offset + g.t_at).reshape(rows, oc)
    plan = Plan(None, None, out_off, lo, hi, oc, rows=rows, packed=packed)
    b = plan.tile(np.asarray(bias).reshape(-1), ft)
    acc2 = acc.reshape(n * oh * ow, oc)
    for i, y0, y1, _ in g.bands(n):
        r = (y1 - y0) * ow
        a0 = (i * oh + y0) * ow
        steps += plan.steps(acc2[a0:a0 + r], t[:r], sg[:r], y[i, y0:y1].reshape(r, oc), b)
    return steps
