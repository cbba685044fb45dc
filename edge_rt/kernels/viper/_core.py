# Shared viper building blocks: requantization of a run of int32 accumulators, dot products,
# and the 32-bit rules every viper kernel here follows (docs/micropython.md, "Viper kernels"):
# - ptr8 loads are unsigned on every port: an int8 is sign-extended as (v ^ 0x80) - 0x80.
# - a ptr32 load zero-extends on 64-bit ports and sign-extends on 32-bit ones, so a signed int32
#   (bias, accumulator, shift) is read as two ptr16 halves (unsigned everywhere) and rebuilt as
#   (((hi ^ 0x8000) - 0x8000) << 16) | lo, the same value on both. Only non-negative int32
#   (geometry) is read through ptr32.
# - machine ints wrap at 32 bits on the boards and at 64 on the test host: every intermediate
#   value stays within the signed 32-bit range, so both compute the same thing.
# - values crossing a call (arguments, results) are small ints (< 2**30): buffers are passed
#   as objects, never as native pointers (an address could be a big int on a 32-bit port).
import micropython


@micropython.viper
def requant(acc: ptr16, n: int, mh: ptr16, sh: ptr16, nch: int, y: ptr8, yo: int, out_off: int,
            lo: int, hi: int):
    """y[yo + i] = clamp(mbqm(acc[i], mult[c], shift[c]) + out_off, lo, hi) for i < n, with
    c = i % nch (nch = 1: per-tensor); TFLite's double rounding, exact for any int32 acc[i]
    whose acc * 2**max(shift, 0) fits int32 (the reference's own int32 arithmetic).

    SaturatingRoundingDoublingHighMul with 15-bit limbs: |a| = u2*2**30 + u1*2**15 + u0 and
    M = b2*2**30 + b1*2**15 + b0 (M < 2**31 so b2 <= 1); the result is
    sign(a) * ((|a|*M + nudge) >> 31), nudge 2**30 (a >= 0) or 2**30 - 1 (a < 0: C truncation).
    A negative a is handled as u = -a - 1 (never overflows) with the 1 added to limb u0 <= 2**15.
    Column sums: col0 <= 2**30 - 1, col1 < 2**31 - 2**15, col2 < 2**30 + 2**17: all in int32.
    floor(total / 2**31) = (col2 >> 1) + col3 * 2**14 + col4 * 2**29 (the low 30 bits never
    carry into it once col1's carry is in col2)."""
    c = 0
    end = nch * 2
    for i in range(n):
        a = (((int(acc[2 * i + 1]) ^ 0x8000) - 0x8000) << 16) | int(acc[2 * i])
        s = (int(sh[c]) ^ 0x8000) - 0x8000
        ml = int(mh[c])
        mu = int(mh[c + 1])
        c += 2
        if c == end:
            c = 0
        if s > 0:
            a = a << s
        neg = 0
        if a < 0:
            neg = 1
            a = -a - 1
        u0 = (a & 0x7FFF) + neg
        u1 = (a >> 15) & 0x7FFF
        u2 = a >> 30
        b0 = ml & 0x7FFF
        b1 = (ml >> 15) | ((mu & 0x3FFF) << 1)
        b2 = mu >> 14
        t = u0 * b0 + neg * 0x7FFF
        t = u0 * b1 + u1 * b0 + neg * 0x7FFF + (t >> 15)
        t = u0 * b2 + u1 * b1 + u2 * b0 + 1 - neg + (t >> 15)
        q = (t >> 1) + ((u1 * b2 + u2 * b1) << 14) + ((u2 * b2) << 29)
        if neg:
            q = -q
        if s < 0:
            # RoundingDivideByPOT; for -s = 31 the mask (1 << 31) - 1 is 0x7FFFFFFF on both
            mask = (1 << (0 - s)) - 1
            rem = q & mask
            thr = (mask >> 1) + neg
            q = q >> (0 - s)
            if rem > thr:
                q += 1
        r = q + out_off
        if r < lo:
            r = lo
        if r > hi:
            r = hi
        y[yo + i] = r


@micropython.viper
def dot_rows(x: ptr8, xo: int, w: ptr8, bias: ptr16, n: int, k: int, acc: ptr32):
    """acc[o] = bias[o] + sum_j x[xo + j] * w[o * k + j] for o < n (int8 x, w; int32 bias).
    Unrolled by 4 over j, with pointers moved to the row starts (native code has no loop
    optimiser: this is about a third faster than the plain loop)."""
    xp = ptr8(uint(x) + xo)
    wp = ptr8(w)
    k4 = k - 3
    for o in range(n):
        a = (((int(bias[2 * o + 1]) ^ 0x8000) - 0x8000) << 16) | int(bias[2 * o])
        j = 0
        while j < k4:
            a += (((int(xp[j]) ^ 0x80) - 0x80) * ((int(wp[j]) ^ 0x80) - 0x80) +
                  ((int(xp[j + 1]) ^ 0x80) - 0x80) * ((int(wp[j + 1]) ^ 0x80) - 0x80) +
                  ((int(xp[j + 2]) ^ 0x80) - 0x80) * ((int(wp[j + 2]) ^ 0x80) - 0x80) +
                  ((int(xp[j + 3]) ^ 0x80) - 0x80) * ((int(wp[j + 3]) ^ 0x80) - 0x80))
            j += 4
        while j < k:
            a += ((int(xp[j]) ^ 0x80) - 0x80) * ((int(wp[j]) ^ 0x80) - 0x80)
            j += 1
        acc[o] = a
        wp = ptr8(uint(wp) + k)


@micropython.viper
def fc(x, w, bias, mult, shift, y, acc, batches: int, n: int, k: int, out_off: int, lo: int, hi: int):
    """FULLY_CONNECTED: per batch row, dot_rows into acc then requant into y (one call per op:
    for the smallest models the per-call cost is what remains)."""
    for b in range(batches):
        dot_rows(x, b * k, w, bias, n, k, acc)
        requant(acc, n, mult, shift, n, y, b * n, out_off, lo, hi)
