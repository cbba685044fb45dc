# RELU, pure Python: the readable specification. Params: see compiler/prepare/relu.py.
#   y = clamp(mbqm(x - input_zero_point, multiplier, shift) + output_zero_point, lo, hi)
from ..quant import mbqm


def bind(op, m, v, arena):
    zi, zo, mult, shift, lo, hi = op.params
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    n = len(y)

    def run():
        for i in range(n):
            r = mbqm(x[i] - zi, mult, shift) + zo
            y[i] = lo if r < lo else (hi if r > hi else r)
    return run
