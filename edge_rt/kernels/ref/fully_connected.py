# FULLY_CONNECTED, pure Python: the readable specification.
# y[b, n] = clamp(mbqm(sum_k x[b, k] * w[n, k] + folded_bias[n], mult[n], shift[n]) + out_off)
# folded_bias = bias + in_off * sum_k w[n, k] (pack time), so the loop needs no offsets.
from ... import format as F
from ...compat import retype
from ..quant import mbqm_halves, requant_int16x8


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]  # np-packed files append np-only constants
    if m.tensors[i_x].dtype == F.DT_INT16:
        return bind16(op, m, v)
    x, w, bias, shift = v[i_x], v[i_w], v[i_b], v[i_s]
    # the int32 multipliers (>= 2**30, big ints on 32-bit MicroPython) read as uint16
    # halves, so requantization stays allocation-free: see quant.mbqm_halves
    mh = retype(v[i_m], m.tensors[i_m].nbytes, "H")
    y = v[op.outputs[0]]
    out_off, lo, hi = op.params
    n, k = m.tensors[i_w].shape
    batches = m.tensors[i_x].size() // k

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
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]
    x, w, bias, mult, shift = v[i_x], v[i_w], v[i_b], v[i_m], v[i_s]
    wide = m.tensors[i_b].dtype == F.DT_INT64
    y = v[op.outputs[0]]
    _, lo, hi = op.params[:3]
    n, k = m.tensors[i_w].shape
    batches = m.tensors[i_x].size() // k

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
