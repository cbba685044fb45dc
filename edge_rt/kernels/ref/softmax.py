# SOFTMAX (int8, last axis), pure Python: the readable specification.
# Per row of `depth` values, with d = max - x in [0, 255] and the pack-time exp tables:
# 1. sum = sum of exp_q12[d] (Q12.19, wrapped to int32 as in C; needs 4096+ columns).
# 2. 1/sum = scale * 2**-bits_over_unit (gemmlowp reciprocal, scale in Q0.31).
# 3. y = clamp(round(scale * exp_q31[d] / 2**(bits_over_unit + 23)) - 128): the Q0.31
#    probability to Q0.8, i.e. output scale 1/256 with zero point -128.
# TFLite Micro aborts (TFLITE_CHECK) when that shift exceeds 31, i.e. once a row's sum of
# exps reaches 512; both kernel sets then continue the same arithmetic instead.
from ..fixedpoint import reciprocal
from ..quant import rdbpot, srdhm, wrap32


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    exp_q31 = v[op.inputs[1]]
    exp_q12 = v[op.inputs[2]]
    y = v[op.outputs[0]]
    shape = m.tensors[op.inputs[0]].shape
    depth = shape[-1]
    rows = m.tensors[op.inputs[0]].size() // depth if depth else 0

    def run():
        for r in range(rows):
            base = r * depth
            end = base + depth
            mx = -128
            for i in range(base, end):
                if x[i] > mx:
                    mx = x[i]
            total = 0
            for i in range(base, end):
                total += exp_q12[mx - x[i]]
            scale, bits_over_unit = reciprocal(wrap32(total), 12)
            exponent = bits_over_unit + 23
            for i in range(base, end):
                q = rdbpot(srdhm(scale, exp_q31[mx - x[i]]), exponent) - 128
                y[i] = -128 if q < -128 else (127 if q > 127 else q)
    return run
