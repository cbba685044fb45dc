# LEAKY_RELU, pure Python: the readable specification. Params: see
# compiler/prepare/leaky_relu.py. With v = x - input_zero_point:
#   v >= 0: y = clamp(output_zero_point + mbqm(v, identity_multiplier, identity_shift))
#   v <  0: y = clamp(output_zero_point + sign * mbqm(v, alpha_multiplier, alpha_shift))
# clamped to [-128, 127]. alpha_multiplier is |the quantized alpha multiplier|; the sign is
# applied after rounding, as the reference does.
from ..quant import mbqm


def bind(op, m, v, arena):
    zi, zo, mi, si, ma, sa, sign = op.params
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    n = len(y)

    def run():
        for i in range(n):
            d = x[i] - zi
            if d >= 0:
                r = zo + mbqm(d, mi, si)
            else:
                r = zo + sign * mbqm(d, ma, sa)
            y[i] = -128 if r < -128 else (127 if r > 127 else r)
    return run
