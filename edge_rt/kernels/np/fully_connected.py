# FULLY_CONNECTED, numpy: one GEMM on integer-valued floats (the exactness bound is the
# convolution's, see _conv_common.py) and the vectorized requantization, in planned scratch:
# widen x, GEMM, then requant.Plan's steps (bias, clamp, double rounding).
import numpy as np

from ._conv_common import gemm_dtype, r16
from .requant import Plan, run_steps


def _layout(batches, n, k, isz):
    acc_at = r16(batches * k * isz)
    t_at = acc_at + r16(batches * n * isz)
    s_at = t_at + r16(batches * n * 8)
    return acc_at, t_at, s_at, s_at + r16(batches * n * 8)


def scratch_bytes(batches, n, k, w2, bias):
    return _layout(batches, n, k, np.dtype(gemm_dtype(w2, bias)[0]).itemsize)[3]


def bind(op, m, v, arena):
    x, w, bias, mult, shift = [v[i] for i in op.inputs]
    y = v[op.outputs[0]]
    out_off, lo, hi = op.params[:3]
    n, k = w.shape
    batches = x.size // k
    ft, amax = gemm_dtype(w, bias)
    acc_at, t_at, s_at, _ = _layout(batches, n, k, np.dtype(ft).itemsize)
    o = op.scratch_offset
    xf = np.frombuffer(arena, ft, batches * k, o).reshape(batches, k)
    acc = np.frombuffer(arena, ft, batches * n, o + acc_at).reshape(batches, n)
    t = np.frombuffer(arena, np.int64, batches * n, o + t_at).reshape(batches, n)
    s = np.frombuffer(arena, np.int64, batches * n, o + s_at).reshape(batches, n)
    # the weights transposed to (K, N) in the GEMM dtype: a constant derived at bind time,
    # kept outside the arena like the model's own constants
    wt = np.ascontiguousarray(np.asarray(w).T.astype(ft))
    plan = Plan(mult, shift, out_off, lo, hi, n, xmax=amax.tolist(), acc=ft, rows=batches)
    steps = [(np.copyto, (xf, x.reshape(batches, k), "unsafe")), (np.matmul, (xf, wt, acc))]
    steps += plan.steps(acc, t, s, y.reshape(batches, n), plan.tile(bias, ft))
    return run_steps(steps)
