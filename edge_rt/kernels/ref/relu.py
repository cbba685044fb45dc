# RELU, pure Python: the readable specification. Params: see compiler/prepare/relu.py.
#   y = clamp(mbqm(x - input_zero_point, multiplier, shift) + output_zero_point, lo, hi)
# The formula depends on x alone, so bind evaluates it for all 256 int8 inputs (small-int
# requantization, quant.mbqm_halves) and run() looks values up: allocation-free.
from ..quant import mbqm_halves
from .lut import lookup_run, new_table


def table(op):
    """The op's output for each of the 256 int8 inputs (also the viper kernel's table)."""
    zi, zo, mult, shift, lo, hi = op.params
    ml, mh = mult & 0xFFFF, mult >> 16

    def one(q):
        r = mbqm_halves(q - zi, ml, mh, shift) + zo
        return lo if r < lo else (hi if r > hi else r)
    return new_table(one)


def bind(op, m, v, arena):
    return lookup_run(v[op.inputs[0]], table(op), v[op.outputs[0]], m.tensors[op.outputs[0]].size())
