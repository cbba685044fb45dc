# FULLY_CONNECTED, numpy: one BLAS product on integer-valued floats (the exactness bound is
# the convolution's, see _conv_common.py) and the vectorized requantization, in planned
# scratch: widen x, product, then requant.Plan's steps (clamp, double rounding). The bias
# rides in the product: x gets a constant 1 appended (rewritten every run, the arena being
# shared) and the weights a bias row, which keeps the bound (it already counts |bias|).
import numpy as np

from ._conv_common import constants as _constants, gemm_dtype, r16
from .requant import Plan, packed_acc, run_steps, setitem


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
    steps = [(setitem, (xf[:, :k], Ellipsis, x.reshape(batches, k))), (np.ndarray.fill, (xf[:, k:], ft(1)))]
    if batches == 1:  # matrix-vector: np.dot of (N, K+1) by (K+1,) is the cheapest BLAS call
        steps.append((np.dot, (wb, xf[0], acc[0])))
    else:
        steps.append((np.matmul, (xf, wb.T, acc)))
    steps += plan.steps(acc, t, s, y.reshape(batches, n))
    return run_steps(steps)
