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
