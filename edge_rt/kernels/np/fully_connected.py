# FULLY_CONNECTED, numpy: one GEMM on integer-valued floats (see conv_2d.py for the bound).
import numpy as np

from .requant import Requant


def _gemm_dtype(k):
    return np.float32 if k <= 1024 else np.float64


def scratch_bytes(batches, n, k):
    return (batches * k + batches * n) * np.dtype(_gemm_dtype(k)).itemsize


def bind(op, m, v, arena):
    x, w, bias, mult, shift = [v[i] for i in op.inputs]
    y = v[op.outputs[0]]
    out_off, lo, hi = op.params
    n, k = w.shape
    batches = x.size // k
    ft = _gemm_dtype(k)
    isz = np.dtype(ft).itemsize
    xf = np.frombuffer(arena, ft, batches * k, op.scratch_offset).reshape(batches, k)
    acc = np.frombuffer(arena, ft, batches * n, op.scratch_offset + batches * k * isz).reshape(batches, n)
    x2 = x.reshape(batches, k)
    y2 = y.reshape(batches, n)
    wt = np.ascontiguousarray(w.T.astype(ft))
    b = bias.astype(np.int64)
    rq = Requant(mult, shift, out_off, lo, hi)

    def run():
        np.copyto(xf, x2, casting="unsafe")
        np.matmul(xf, wt, out=acc)
        rq(acc.astype(np.int64) + b, y2)
    return run
