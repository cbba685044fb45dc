# FULLY_CONNECTED, pure Python: the readable specification.
# y[b, n] = clamp(mbqm(sum_k x[b, k] * w[n, k] + folded_bias[n], mult[n], shift[n]) + out_off)
# folded_bias = bias + in_off * sum_k w[n, k] (pack time), so the loop needs no offsets.
from ... import format as F
from ..quant import mbqm_halves, requant_int16x8
from ._weighted import fc_geometry, fc_weights, operands8, operands16


def bind(op, m, v, arena):
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:
        return bind16(op, m, v)
    x, w, bias, mh, shift, y = operands8(op, m, v)
    out_off, lo, hi = op.params
    n, k, batches = fc_geometry(op, m)
    w = fc_weights(op, m, w, n, k)

    # Everything run() reads is bound as a default argument: on MicroPython a closure over
    # more than 5 variables copies them into a heap array on every call, defaults do not.
    def run(x=x, w=w, bias=bias, mh=mh, shift=shift, y=y, n=n, k=k, batches=batches,
            out_off=out_off, lo=lo, hi=hi):
        for b in range(batches):
            xo = b * k
            for o in range(n):
                wo = o * k
                acc = bias[o]
                for j in range(k):
                    acc += x[xo + j] * w[wo + j]
                r = mbqm_halves(acc, mh[2 * o], mh[2 * o + 1], shift[o]) + out_off
                y[b * n + o] = lo if r < lo else (hi if r > hi else r)
    return run


def bind16(op, m, v):
    """int16x8: y[b, n] = clamp(requant(sum_k x[b, k] * w[n, k] + bias[n])), no offsets (zero
    points 0); the bias dtype picks the accumulator (quant.requant_int16x8)."""
    x, w, bias, mult, shift, y, wide = operands16(op, m, v)
    _, lo, hi = op.params[:3]
    n, k, batches = fc_geometry(op, m)

    def run(x=x, w=w, bias=bias, mult=mult, shift=shift, y=y, n=n, k=k, batches=batches, lo=lo, hi=hi,
            wide=wide):
        for b in range(batches):
            xo = b * k
            for o in range(n):
                wo = o * k
                acc = bias[o]
                for j in range(k):
                    acc += x[xo + j] * w[wo + j]
                r = requant_int16x8(acc, mult[o], shift[o], wide)
                y[b * n + o] = lo if r < lo else (hi if r > hi else r)
    return run
