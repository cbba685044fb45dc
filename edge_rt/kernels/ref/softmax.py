# SOFTMAX (int8, last axis), pure Python: the readable specification.
# Per row of `depth` values, with d = max - x in [0, 255] and the pack-time exp tables:
# 1. sum = sum of exp_q12[d] (Q12.19, wrapped to int32 as in C; needs 4096+ columns).
# 2. 1/sum = scale * 2**-bits_over_unit (gemmlowp reciprocal, scale in Q0.31).
# 3. y = clamp(round(scale * exp_q31[d] / 2**(bits_over_unit + 23)) - 128): the Q0.31
#    probability to Q0.8, i.e. output scale 1/256 with zero point -128.
# TFLite Micro aborts (TFLITE_CHECK) when that shift exceeds 31, i.e. once a row's sum of
# exps reaches 512; both kernel sets then continue the same arithmetic instead.
#
# Small ints (32-bit MicroPython, see quant.py): scale and exp_q31 are Q0.31 values up to
# 2**31 - 1, so they are handled as 15-bit limbs (fixedpoint.reciprocal_limbs and
# mul_pos_limbs; exp_q31 is read as uint16 halves). Step 3 is one rounding of a 62-bit
# product: with E = bits_over_unit + 23 >= 15 (sum >= exp_q12[0] = 2**19 gives E >= 23),
#   rdbpot(srdhm(S, e), E) = floor((S*e + 2**30 + 2**(30+E)) / 2**(31+E))
#                          = ((S*e + 2**30) >> 45 + 2**(E-15)) >> (E-14).
# Each exp_q12 term is at most 2**19, so for depth <= 2047 the sum stays a small int; longer
# rows (and any row the limb path does not cover) take the exact, allocating path.
from ...compat import retype
from ..fixedpoint import mul_pos_limbs, reciprocal, reciprocal_limbs
from ..quant import rdbpot, srdhm, wrap32

SMALL_DEPTH = 2047  # depth * 2**19 <= 2**30 - 1


def _row_exact(x, eq31, eq12, y, base, end, mx):
    total = 0
    for i in range(base, end):
        total += eq12[mx - x[i]]
    scale, bits_over_unit = reciprocal(wrap32(total), 12)
    exponent = bits_over_unit + 23
    for i in range(base, end):
        q = rdbpot(srdhm(scale, eq31[mx - x[i]]), exponent) - 128
        y[i] = -128 if q < -128 else (127 if q > 127 else q)


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    exp_q31 = v[op.inputs[1]]
    exp_q12 = v[op.inputs[2]]
    eh = retype(exp_q31, m.tensors[op.inputs[1]].nbytes, "H")  # Q0.31 as uint16 halves
    y = v[op.outputs[0]]
    shape = m.tensors[op.inputs[0]].shape
    depth = shape[-1]
    rows = m.tensors[op.inputs[0]].size() // depth if depth else 0
    small = depth <= SMALL_DEPTH
    lim = [0, 0, 0, 0]  # the row's scale as limbs, then bits_over_unit

    def run(x=x, exp_q31=exp_q31, exp_q12=exp_q12, eh=eh, y=y, depth=depth, rows=rows,
            small=small, lim=lim):
        for r in range(rows):
            base = r * depth
            end = base + depth
            mx = -128
            for i in range(base, end):
                if x[i] > mx:
                    mx = x[i]
            if not small:
                _row_exact(x, exp_q31, exp_q12, y, base, end, mx)
                continue
            total = 0
            for i in range(base, end):
                total += exp_q12[mx - x[i]]
            if not reciprocal_limbs(total, 12, lim) or lim[3] < -8:
                _row_exact(x, exp_q31, exp_q12, y, base, end, mx)
                continue
            s0 = lim[0]
            s1 = lim[1]
            s2 = lim[2]
            rnd = 1 << (lim[3] + 8)   # 2**(E-15)
            sh = lim[3] + 9           # E - 14
            for i in range(base, end):
                d = 2 * (mx - x[i])
                lo = eh[d]
                hi = eh[d + 1]
                q = ((mul_pos_limbs(s0, s1, s2, lo & 0x7FFF, (lo >> 15) | ((hi & 0x3FFF) << 1), hi >> 14,
                                    False) + rnd) >> sh) - 128
                y[i] = -128 if q < -128 else (127 if q > 127 else q)
    return run
