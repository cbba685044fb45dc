# LEAKY_RELU, pure Python: the readable specification. Params: see
# compiler/prepare/leaky_relu.py. With v = x - input_zero_point:
#   v >= 0: y = clamp(output_zero_point + mbqm(v, identity_multiplier, identity_shift))
#   v <  0: y = clamp(output_zero_point + sign * mbqm(v, alpha_multiplier, alpha_shift))
# clamped to [-128, 127]. alpha_multiplier is |the quantized alpha multiplier|; the sign is
# applied after rounding, as the reference does. The result depends on x alone: bind
# evaluates it for all 256 inputs (quant.mbqm_halves) and run() looks values up.
from ..quant import mbqm_halves
from .lut import lookup_run, new_table


def table(op):
    """The op's output for each of the 256 int8 inputs (also the viper kernel's table)."""
    zi, zo, mi, si, ma, sa, sign = op.params

    def one(q):
        d = q - zi
        if d >= 0:
            r = zo + mbqm_halves(d, mi & 0xFFFF, mi >> 16, si)
        else:
            r = zo + sign * mbqm_halves(d, ma & 0xFFFF, ma >> 16, sa)
        return -128 if r < -128 else (127 if r > 127 else r)
    return new_table(one)


def bind(op, m, v, arena):
    return lookup_run(v[op.inputs[0]], table(op), v[op.outputs[0]], m.tensors[op.outputs[0]].size())
