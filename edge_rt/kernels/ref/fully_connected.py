# FULLY_CONNECTED, pure Python: the readable specification.
# y[b, n] = clamp(mbqm(sum_k x[b, k] * w[n, k] + folded_bias[n], mult[n], shift[n]) + out_off)
# folded_bias = bias + in_off * sum_k w[n, k] (pack time), so the loop needs no offsets.
from ..quant import mbqm


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s = op.inputs
    x, w, bias, mult, shift = v[i_x], v[i_w], v[i_b], v[i_m], v[i_s]
    y = v[op.outputs[0]]
    out_off, lo, hi = op.params
    n, k = m.tensors[i_w].shape
    batches = m.tensors[i_x].size() // k

    def run():
        for b in range(batches):
            xo = b * k
            for o in range(n):
                wo = o * k
                acc = bias[o]
                for j in range(k):
                    acc += x[xo + j] * w[wo + j]
                r = mbqm(acc, mult[o], shift[o]) + out_off
                y[b * n + o] = lo if r < lo else (hi if r > hi else r)
    return run
