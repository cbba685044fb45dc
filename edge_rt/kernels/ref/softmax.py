# SOFTMAX (last axis), pure Python: the readable specification. int8 first (int8 or int16
# output), int16 below.
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
from ... import format as F
from ...compat import retype
from ..fixedpoint import mul_pos_limbs, reciprocal, reciprocal_limbs
from ..quant import mbqm_halves, rdbpot, srdhm, wrap32

SMALL_DEPTH = 2047  # depth * 2**19 <= 2**30 - 1


# -- row helpers, shared with log_softmax.py (small ints only) --------------------------------
def last_axis(t):
    """(depth, rows) of tensor record t taken as rows of its last axis."""
    depth = t.shape[-1]
    return depth, (t.size() // depth if depth else 0)


def row_max(x, base, end, lo):
    """max(lo, x[base:end])."""
    mx = lo
    for i in range(base, end):
        if x[i] > mx:
            mx = x[i]
    return mx


def exp_sum(x, tab, base, end, mx):
    """The sum of tab[mx - x[i]] over the row (the int8 ops' exp tables, indexed by max - x)."""
    total = 0
    for i in range(base, end):
        total += tab[mx - x[i]]
    return total


def _row_exact(x, eq31, eq12, y, base, end, mx, obits=8):
    total = exp_sum(x, eq12, base, end, mx)
    scale, bits_over_unit = reciprocal(wrap32(total), 12)
    exponent = bits_over_unit + 31 - obits
    lo = -(1 << (obits - 1))
    hi = -lo - 1
    for i in range(base, end):
        q = rdbpot(srdhm(scale, eq31[mx - x[i]]), exponent) + lo
        y[i] = lo if q < lo else (hi if q > hi else q)


def bind(op, m, v, arena):
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:
        return _bind16(op, m, v)
    x = v[op.inputs[0]]
    exp_q31 = v[op.inputs[1]]
    exp_q12 = v[op.inputs[2]]
    eh = retype(exp_q31, m.tensors[op.inputs[1]].nbytes, "H")  # Q0.31 as uint16 halves
    y = v[op.outputs[0]]
    depth, rows = last_axis(m.tensors[op.inputs[0]])
    small = depth <= SMALL_DEPTH
    lim = [0, 0, 0, 0]  # the row's scale as limbs, then bits_over_unit
    # int16 output (int8 input; zero point -32768, scale 1/65536): E = bits_over_unit + 15, so
    # 2**(E-15) = 2**bits_over_unit, and the offset and clamp are int16's
    out16 = m.tensors[op.outputs[0]].dtype == F.DT_INT16
    k = (16, 0, -32768, 32767) if out16 else (8, 8, -128, 127)

    def run(x=x, exp_q31=exp_q31, exp_q12=exp_q12, eh=eh, y=y, depth=depth, rows=rows,
            small=small, lim=lim, k=k):
        obits, eoff, omin, omax = k
        for r in range(rows):
            base = r * depth
            end = base + depth
            mx = row_max(x, base, end, -128)
            if not small:
                _row_exact(x, exp_q31, exp_q12, y, base, end, mx, obits)
                continue
            total = exp_sum(x, exp_q12, base, end, mx)
            if not reciprocal_limbs(total, 12, lim) or lim[3] + eoff < 0:
                _row_exact(x, exp_q31, exp_q12, y, base, end, mx, obits)
                continue
            s0 = lim[0]
            s1 = lim[1]
            s2 = lim[2]
            rnd = 1 << (lim[3] + eoff)   # 2**(E-15)
            sh = lim[3] + eoff + 1       # E - 14
            for i in range(base, end):
                d = 2 * (mx - x[i])
                lo = eh[d]
                hi = eh[d + 1]
                q = ((mul_pos_limbs(s0, s1, s2, lo & 0x7FFF, (lo >> 15) | ((hi & 0x3FFF) << 1), hi >> 14,
                                    False) + rnd) >> sh) + omin
                y[i] = omin if q < omin else (omax if q > omax else q)
    return run


# int16 (reference_ops::SoftmaxInt16), per row of `depth` values with the pack-time tables
# (513 int16 entries each; lookup(v, T) interpolates T at int16 v: T[256 + (v >> 7)] plus the
# slope to the next entry times (v & 127) / 128, rounded):
# 1. e = lookup(clamp16(mbqm(x - max, mult, shift) + 32767), exp_lut): exp(x - max) in Q0.15,
#    kept in the output row as the reference does; sum = the sum of e.
# 2. h = the leading zeros of sum (32-bit); the sum normalized to [1, 2) in Q1.16 is
#    n = ((sum << (h - 1)) + 2**13) >> 14, and r = lookup(clamp16(n - 3 * 2**15), recip_lut)
#    is 1 / (1 + (n - 2**16) / 2**16) in Q0.15.
# 3. y = clamp(round(e * r / 2**(31 - h)), 0, 32767).
# Small ints: d is first raised to the pack-time bound dlo (every lower d reads the table at
# -32768 as well), which keeps |d << shift| below 2**18 for mbqm_halves; sum <= depth * 32767 (below 2**30 for depth <= 32768); sum << (h - 1) reaches
# 2**30, so step 2 shifts by h - 15 directly (h > 14: the rounding bit is 0) or rounds first
# (h <= 14); e * r < 2**30, but the rounding half can carry it past, so it is halved first:
# (p + 2**(s-1)) >> s == ((p >> 1) + 2**(s-2)) >> (s-1) with s = 31 - h >= 14.

def lookup16(value, lut):
    """LUTLookup: the 513-entry table at int16 value, linearly interpolated (Q0.7 fraction)."""
    i = 256 + (value >> 7)
    base = lut[i]
    return base + (((lut[i + 1] - base) * (value & 0x7F) + 64) >> 7)


def _bind16(op, m, v):
    depth, rows = last_axis(m.tensors[op.inputs[0]])
    mh = retype(v[op.inputs[3]], 4, "H")  # the int32 multiplier as uint16 halves
    k = (v[op.inputs[0]], v[op.inputs[1]], v[op.inputs[2]], v[op.outputs[0]], mh[0], mh[1], op.params[0],
         op.params[1], depth, rows)

    def run(k=k):
        x, exp_lut, rec_lut, y, m_lo, m_hi, shift, dlo, depth, rows = k
        for r in range(rows):
            base = r * depth
            end = base + depth
            mx = row_max(x, base, end, -32768)
            total = 0
            for i in range(base, end):
                d = x[i] - mx
                d = mbqm_halves(dlo if d < dlo else d, m_lo, m_hi, shift) + 32767
                e = lookup16(-32768 if d < -32768 else (32767 if d > 32767 else d), exp_lut)
                y[i] = e
                total += e
            h = 32  # leading zeros of the (positive, 32-bit) sum: clz32's mask is a big int
            t = total
            while t:
                t >>= 1
                h -= 1
            if h > 14:
                n = total << (h - 15)
            else:
                n = (total + (1 << (14 - h))) >> (15 - h)
            n -= 3 << 15
            rec = lookup16(-32768 if n < -32768 else (32767 if n > 32767 else n), rec_lut)
            s1 = 30 - h
            half = 1 << (29 - h)
            for i in range(base, end):
                q = (((y[i] * rec) >> 1) + half) >> s1
                y[i] = 0 if q < 0 else (32767 if q > 32767 else q)
    return run
