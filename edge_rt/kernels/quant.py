# Scalar fixed-point helpers with TFLite's exact integer semantics (device-safe).
# These are the reference definitions; kernels/np/requant.py vectorizes the same steps.

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def c_div(a, b):
    """C integer division: truncates toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul of two int32: (a*b*2 + 2**31 rounding) >> 32,
    with the nudge toward zero for negative products and the one overflow case saturated."""
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return c_div(ab + nudge, 1 << 31)


def rdbpot(x, exponent):
    """RoundingDivideByPOT: x / 2**exponent rounding half away from zero."""
    if exponent == 0:
        return x
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def wrap32(x):
    """Two's-complement wrap to int32, as C arithmetic on int32_t does in practice."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def mbqm(x, multiplier, shift):
    """MultiplyByQuantizedMultiplier with TFLite's default double rounding."""
    if shift > 0:
        return rdbpot(srdhm(wrap32(x << shift), multiplier), 0)
    return rdbpot(srdhm(x, multiplier), -shift)


# -- small-int-safe variants (32-bit MicroPython) ------------------------------------------
# On 32-bit MicroPython ports an int is "small" (unboxed, never allocates) only inside
# [-2**30, 2**30 - 1]; anything wider is a heap-allocated big int, so a 32x32-bit product
# allocates. These variants give exactly mbqm/srdhm/rdbpot's results while every
# intermediate value stays within |v| <= 2**30 - 1, provided
#   - the accumulator satisfies |x * 2**max(shift, 0)| <= 2**30 - 1 (mbqm_halves falls back
#     to the exact, allocating mbqm otherwise). For FC/CONV/DW the accumulator is at most
#     |bias| + 255 * 128 * K, so this holds for K < 32,000 taps with a moderate bias;
#   - the multiplier M (0 <= M < 2**31, as quantize_multiplier makes it) arrives as its
#     two little-endian 16-bit halves (m_lo, m_hi), i.e. a uint16 view of the int32
#     multiplier tensor: reading M itself (>= 2**30) would allocate.
SMALL_MAX = 0x3FFFFFFF  # 2**30 - 1, the largest small int on 32-bit MicroPython


def srdhm_halves(a, m_lo, m_hi):
    """srdhm(a, m_hi * 2**16 + m_lo) for |a| <= 2**30 - 1 and 0 <= m_hi < 2**15.

    With u = |a| = u1 * 2**15 + u0 and M = b2 * 2**30 + b1 * 2**15 + b0 (15-bit limbs,
    b2 in {0, 1}), TFLite's result is sign(a) * ((u * M + c) >> 31) with c = 2**30 for
    a >= 0 and 2**30 - 1 for a < 0 (the nudge, then C's truncating division). u * M + c
    is summed column by column in base 2**15; each partial product of two 15-bit limbs is
    below 2**30 - 2**16, and each column sum is bounded in the comments (all <= 2**30 - 1).
    """
    neg = a < 0
    u = -a if neg else a
    u0 = u & 0x7FFF
    u1 = u >> 15
    b0 = m_lo & 0x7FFF
    b1 = (m_lo >> 15) | ((m_hi & 0x3FFF) << 1)
    b2 = m_hi >> 14
    c = 0x7FFF if neg else 0  # 2**30 - 1 = 0x7FFF * 2**15 + 0x7FFF: columns 0 and 1
    t = u0 * b0 + c                   # <= (2**15-1)**2 + 2**15 - 1 < 2**30
    t = u0 * b1 + (t >> 15)           # column 1, first half: same bound
    carry = t >> 15
    t = u1 * b0 + (t & 0x7FFF) + c    # <= (2**15-1)**2 + 2 * (2**15-1) = 2**30 - 1
    carry += t >> 15                  # <= 2 * (2**15 - 1)
    t = u1 * b1 + carry               # <= 2**30 - 2**16 + 1 + 2**16 - 2: column 2 (2**30)
    # Column 2 and up hold W = (b2*u1 + t>>15) * 2**15 + d2, the rest is below 2**30, so the
    # result floor(total / 2**31) is floor(W / 2); it is <= 2**30 - 1 since u*M < 2**61.
    d2 = (t & 0x7FFF) + b2 * u0 + (0 if neg else 1)   # < 3 * 2**15
    q = ((b2 * u1 + (t >> 15)) << 14) + (d2 >> 1)
    return -q if neg else q


def rdbpot_small(x, exponent):
    """rdbpot(x, exponent) for |x| <= 2**30 - 1 without forming 1 << 30 or 1 << 31."""
    if exponent == 0:
        return x
    if exponent >= 31:
        return 0  # |x| / 2**31 < 1/2 rounds to 0 (as rdbpot computes it)
    mask = (1 << exponent) - 1 if exponent < 30 else SMALL_MAX
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def mbqm_halves(x, m_lo, m_hi, shift):
    """mbqm(x, m_hi * 2**16 + m_lo, shift), allocation-free under the bound above."""
    if shift > 0:
        lim = SMALL_MAX >> shift
        if -lim <= x <= lim:
            return srdhm_halves(x << shift, m_lo, m_hi)
    elif -SMALL_MAX <= x <= SMALL_MAX:
        return rdbpot_small(srdhm_halves(x, m_lo, m_hi), -shift)
    return mbqm(x, (m_hi << 16) | m_lo, shift)  # outside the bound: exact, but allocates


def mbqm64_operands(multiplier, shift):
    """The int64 MultiplyByQuantizedMultiplier's operands from a Q0.31 multiplier and its shift:
    the multiplier rounded to 16 bits (0x7FFF at most) and the total right shift 15 - shift.
    kernels/np/_exact.py mbqm64_operands is the same on arrays (the packer and numpy use it)."""
    rm = (multiplier + 0x8000) >> 16 if multiplier < 0x7FFF0000 else 0x7FFF
    return rm, 15 - shift


def mbqm64_reduced(x, rm, total):
    """mbqm64 with its operands already reduced (mbqm64_operands): one rounding shift (half
    rounds up: add half, arithmetic shift), then the int64 result truncated to int32 as the C
    cast does."""
    return wrap32((x * rm + (1 << (total - 1))) >> total)


def mbqm64(x, multiplier, shift):
    """MultiplyByQuantizedMultiplier's int64 overload, which TFLite's int16x8 kernels (int64
    bias) and int16 LSTM use instead of mbqm: mbqm64_reduced on mbqm64_operands. The packer
    keeps |x| * 0x7FFF within int64 and shift <= 14 (prepare/common.py int16_tail)."""
    rm, total = mbqm64_operands(multiplier, shift)
    return mbqm64_reduced(x, rm, total)


def requant_int16x8(acc, multiplier, shift, wide):
    """One output of an int16x8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED before its clamp,
    from the exact sum acc (bias included). TFLite Micro picks the accumulator by the bias
    type: an int64 bias (wide) means an int64 accumulator and mbqm64; an int32 bias an int32
    accumulator, which wraps (two's complement: only the sum mod 2**32 matters), and mbqm.
    On 32-bit MicroPython these values are big ints: the int16 paths allocate."""
    if wide:
        return mbqm64(acc, multiplier, shift)
    if acc < INT32_MIN or acc > INT32_MAX:
        acc = wrap32(acc)
    return mbqm(acc, multiplier, shift)
