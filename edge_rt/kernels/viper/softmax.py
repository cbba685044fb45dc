# SOFTMAX (int8, last axis), viper: kernels/ref/softmax.py's arithmetic. Per row, the max and the
# sum of exp_q12 terms, and the output loop (the Q0.31 probability from 15-bit limbs, one
# rounding, as the ref kernel's small-int path) run in native code; the reciprocal of the sum
# stays the ref kernel's (fixedpoint.reciprocal_limbs, once per row). Rows longer than 2,047
# values, and sums the limb path does not cover, take the ref kernel's exact path.
import micropython

from ...compat import retype
from ..fixedpoint import reciprocal_limbs
from ..ref.softmax import SMALL_DEPTH, _row_exact


@micropython.viper
def row_max(x, base: int, n: int) -> int:
    xp = ptr8(x)
    mx = -128
    for i in range(base, base + n):
        v = (int(xp[i]) ^ 0x80) - 0x80
        if v > mx:
            mx = v
    return mx


@micropython.viper
def row_sum(x, base: int, n: int, mx: int, eq12) -> int:
    """Sum of exp_q12[mx - x[i]] (each term <= 2**19 and >= 0: a ptr32 load is exact; for
    n <= 2047 the sum is below 2**30, a small int)."""
    xp = ptr8(x)
    ep = ptr32(eq12)
    total = 0
    for i in range(base, base + n):
        total += int(ep[mx - ((int(xp[i]) ^ 0x80) - 0x80)])
    return total


@micropython.viper
def row_out(x, base: int, n: int, mx: int, eh, y, s0: int, s1: int, s2: int, rnd: int, sh: int):
    """y[i] = clamp(((S * exp_q31[mx - x[i]] + 2**30) >> 45 + rnd) >> sh) - 128) with the scale S as
    15-bit limbs (fixedpoint.mul_pos_limbs' column sums, all within int32)."""
    xp = ptr8(x)
    hp = ptr16(eh)
    yp = ptr8(y)
    for i in range(base, base + n):
        d = 2 * (mx - ((int(xp[i]) ^ 0x80) - 0x80))
        lo = int(hp[d])
        hi = int(hp[d + 1])
        b0 = lo & 0x7FFF
        b1 = (lo >> 15) | ((hi & 0x3FFF) << 1)
        b2 = hi >> 14
        t = ((s0 * b0) >> 15) + s0 * b1
        carry = t >> 15
        t = (t & 0x7FFF) + s1 * b0
        carry += t >> 15
        t = s1 * b1 + carry
        e = (t & 0x7FFF) + s0 * b2 + s2 * b0 + 1
        h = (t >> 15) + (e >> 15) + s1 * b2 + s2 * b1 + ((s2 * b2) << 15)
        q = ((h + rnd) >> sh) - 128
        if q < -128:
            q = -128
        if q > 127:
            q = 127
        yp[i] = q


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    shape = m.tensors[op.inputs[0]].shape
    depth = shape[-1]

    def run(x=x, exp_q31=v[op.inputs[1]], exp_q12=v[op.inputs[2]],
            eh=retype(v[op.inputs[1]], m.tensors[op.inputs[1]].nbytes, "H"), y=v[op.outputs[0]], depth=depth,
            rows=m.tensors[op.inputs[0]].size() // depth if depth else 0, small=depth <= SMALL_DEPTH,
            lim=[0, 0, 0, 0]):
        for r in range(rows):
            base = r * depth
            mx = row_max(x, base, depth)
            if not small:
                _row_exact(x, exp_q31, exp_q12, y, base, base + depth, mx)
                continue
            total = row_sum(x, base, depth, mx, exp_q12)
            if not reciprocal_limbs(total, 12, lim) or lim[3] < -8:
                _row_exact(x, exp_q31, exp_q12, y, base, base + depth, mx)
                continue
            row_out(x, base, depth, mx, eh, y, lim[0], lim[1], lim[2], 1 << (lim[3] + 8), lim[3] + 9)
    return run
