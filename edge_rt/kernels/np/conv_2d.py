# CONV_2D, numpy: im2col into planned scratch, then one GEMM on integer-valued floats.
# Exactness: the accumulator is sum_k x*w over raw int8 values (|x*w| <= 2**14), the zero
# point being folded into the bias at pack time. With K <= 1024 every partial sum stays
# within 2**24, where float32 represents integers exactly, in any summation order; for
# larger K we use float64 (exact to 2**53, i.e. K up to 2**39).
import numpy as np

from ._conv_common import pad_bytes, stage
from .requant import Requant


def _gemm_dtype(k):
    return np.float32 if k <= 1024 else np.float64


def scratch_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl):
    n, oh, ow, oc = yshape
    k = kh * kw * xshape[3]
    isz = np.dtype(_gemm_dtype(k)).itemsize
    pad = (pad_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl) + 15) // 16 * 16
    return pad + n * oh * ow * k * isz + n * oh * ow * oc * isz


def bind(op, m, v, arena):
    x, w, bias, mult, shift = [v[i] for i in op.inputs]
    y = v[op.outputs[0]]
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi = op.params
    oc, kh, kw, ic = w.shape
    n, oh, ow, _ = y.shape
    k = kh * kw * ic
    rows = n * oh * ow
    ft = _gemm_dtype(k)
    isz = np.dtype(ft).itemsize
    pad = (pad_bytes(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl) + 15) // 16 * 16
    copy_in, win = stage(x, arena, op.scratch_offset, y.shape, kh, kw, dh, dw, sh, sw, pt, pl, in_zp)
    base = op.scratch_offset + pad
    col = np.frombuffer(arena, ft, rows * k, base).reshape(n, oh, ow, kh, kw, ic)
    col2 = col.reshape(rows, k)
    acc = np.frombuffer(arena, ft, rows * oc, base + rows * k * isz).reshape(rows, oc)
    wt = np.ascontiguousarray(w.reshape(oc, k).T.astype(ft))
    b = bias.astype(np.int64)
    rq = Requant(mult, shift, out_off, lo, hi)
    y2 = y.reshape(rows, oc)

    def run():
        if copy_in is not None:
            copy_in()
        np.copyto(col, win, casting="unsafe")
        np.matmul(col2, wt, out=acc)
        rq(acc.astype(np.int64) + b, y2)
    return run
