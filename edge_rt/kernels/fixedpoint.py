# gemmlowp-style fixed-point helpers on int32 raw values (device-safe, scalar).
# A raw value r in format Qm.(31-m) stands for r / 2**(31-m). Every helper reproduces the
# C++ integer semantics TFLite relies on (two's-complement wrap, truncating division), so
# results match the reference bit for bit. compiler/fixedpoint.py builds on these on the host.
from .quant import INT32_MAX, INT32_MIN, srdhm, wrap32

Q0_ONE = INT32_MAX  # Q0.31 cannot hold 1.0; gemmlowp uses the largest raw value instead


def sat_shl(x, exponent):
    """SaturatingRoundingMultiplyByPOT for exponent > 0: x * 2**exponent clamped to int32."""
    limit = (1 << (31 - exponent)) - 1
    if x > limit:
        return INT32_MAX
    if x < -limit:
        return INT32_MIN
    return x << exponent


def rounding_half_sum(a, b):
    """(a + b) / 2 rounded half away from zero, via 64-bit math and C division."""
    s = a + b
    s += 1 if s >= 0 else -1
    q = abs(s) >> 1
    return q if s >= 0 else -q


def two_over_one_plus_x(a):
    """2 / (1 + a) in Q2.29 for a in [0, 1) in Q0.31: three Newton-Raphson steps on the
    halved denominator d = (1 + a) / 2 in [0.5, 1), starting from 48/17 - 32/17 * d."""
    d = rounding_half_sum(a, Q0_ONE)
    x = wrap32(1515870810 + srdhm(d, -1010580540))
    for _ in range(3):
        err = wrap32((1 << 29) - srdhm(d, x))
        x = wrap32(x + sat_shl(srdhm(x, err), 2))
    return x


def one_over_one_plus_x(a):
    """1 / (1 + a), Q0.31 in and out: 2/(1+a) read as Q1.30, rescaled to Q0.31."""
    return sat_shl(two_over_one_plus_x(a), 1)


def clz32(x):
    """Leading zero bits of x as a uint32 (32 for 0)."""
    x &= 0xFFFFFFFF
    n = 32
    while x:
        x >>= 1
        n -= 1
    return n


def reciprocal(x, integer_bits):
    """TFLite's GetReciprocal: x (Q integer_bits) -> (scale Q0.31, bits_over_unit) with
    1/x ~= scale * 2**-bits_over_unit. x is normalized to 1 + f, f in [0, 1), by its
    leading zeros, then 1/(1 + f) is taken in fixed point."""
    headroom_plus_one = clz32(x)
    shifted = ((x & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    return one_over_one_plus_x(shifted - (1 << 31)), integer_bits - headroom_plus_one
