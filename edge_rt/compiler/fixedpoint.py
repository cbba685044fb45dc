"""Host re-implementation of the gemmlowp fixed-point math TFLite's int8 nonlinear kernels
use (exp, logistic, tanh on int32 raw values; the int16 steps of HARD_SWISH), with C++
integer semantics. Prepare functions evaluate it over every possible input to build
bit-exact lookup tables; the device never runs these."""
from __future__ import annotations

import math

from ..kernels.fixedpoint import Q0_ONE, one_over_one_plus_x, sat_shl, two_over_one_plus_x
from ..kernels.quant import c_div, mbqm, rdbpot, srdhm, wrap32  # noqa: F401 (re-exported)
from .quant import tflite_round

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


# -- int32 (Q-format) functions -------------------------------------------------------------

def _exp_quarter(a: int) -> int:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: 4th-order Taylor around -1/8."""
    exp_minus_eighth = 1895147668
    one_third = 715827883
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(wrap32(srdhm(wrap32(x4_over_4 + x3), one_third) + x2), 1)
    return wrap32(exp_minus_eighth + srdhm(exp_minus_eighth, wrap32(x + poly)))


# exp(-2**k) in Q0.31 for k = -2 .. 4, applied per set bit of the input's magnitude
_EXP_NEG_POT = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    """exp(a) for a <= 0 given in Q(integer_bits), result Q0.31.

    1. Split a = r + q with r in [-1/4, 0) and q a non-positive multiple of 1/4.
    2. exp(r) by polynomial; then multiply by exp(-2**k) for each bit k set in -q.
    3. Below -32 the result is flushed to 0 (only reachable with more than 5 integer bits);
       a == 0 returns the largest Q0.31 value."""
    frac_bits = 31 - integer_bits
    quarter = 1 << (frac_bits - 2)
    r = (a & (quarter - 1)) - quarter
    result = _exp_quarter(sat_shl(r, integer_bits) if integer_bits else r)
    remainder = wrap32(r - a)
    for k, mult in _EXP_NEG_POT:
        if integer_bits > k and remainder & (1 << (frac_bits + k)):
            result = srdhm(result, mult)
    if integer_bits > 5 and a < -(1 << (36 - integer_bits)):
        result = 0
    return Q0_ONE if a == 0 else result


def _one_minus_x_over_one_plus_x(a: int) -> int:
    """(1 - a) / (1 + a) = 2/(1 + a) - 1 for a in [0, 1), Q0.31."""
    return sat_shl(wrap32(two_over_one_plus_x(a) - (1 << 29)), 2)


def logistic(a: int, integer_bits: int) -> int:
    """gemmlowp::logistic: 1 / (1 + exp(-a)), a in Q(integer_bits), result Q0.31.
    Evaluated on |a| (exp of a non-positive value); negative a takes 1 - that."""
    if a == 0:
        return 1 << 30
    pos = one_over_one_plus_x(exp_on_negative_values(wrap32(-abs(a)), integer_bits))
    return pos if a > 0 else wrap32(Q0_ONE - pos)


def tanh(a: int, integer_bits: int) -> int:
    """gemmlowp::tanh: (1 - exp(-2|a|)) / (1 + exp(-2|a|)) with the sign of a, Q0.31.
    Doubling is exact: the raw -|a| is reread with one more integer bit."""
    if a == 0:
        return 0
    t = _one_minus_x_over_one_plus_x(exp_on_negative_values(wrap32(-abs(a)), integer_bits + 1))
    return wrap32(-t) if a < 0 else t


def input_radius(integer_bits: int, left_shift: int, total_bits: int = 31) -> int:
    """CalculateInputRadius: largest |input| whose rescaled value cannot overflow, in double."""
    return math.floor(1.0 * ((1 << integer_bits) - 1) * (1 << (total_bits - integer_bits))
                      / (1 << left_shift))


# -- int16 helpers (HARD_SWISH) ------------------------------------------------------------

def wrap16(x: int) -> int:
    x &= 0xFFFF
    return x - 0x10000 if x & 0x8000 else x


def srdhm16(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul on int16 (VQRDMULH.S16)."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    return wrap16(c_div(ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14)), 1 << 15))


def sdhm16(a: int, b: int) -> int:
    """SaturatingDoublingHighMul on int16: like srdhm16 but truncating toward zero."""
    if a == b == INT16_MIN:
        return INT16_MAX
    return wrap16(c_div(a * b, 1 << 15))


def sat_shl16(x: int, amount: int) -> int:
    """TFLite's SaturatingLeftShift on int16."""
    return max(INT16_MIN, min(INT16_MAX, x * (1 << amount)))


def rdbpot16(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT instantiated for int16. The mask (2**e - 1) is narrowed
    to int16, so for e >= 16 it becomes -1: non-negative x then yields 1 and negative x -1
    (faithfully reproduced; TFLite hits it when the output scale dwarfs the input's)."""
    mask = wrap16((1 << exponent) - 1)
    remainder = wrap16(x & mask)
    threshold = wrap16((mask >> 1) + (1 if x < 0 else 0))
    return wrap16((x >> exponent) + (1 if remainder > threshold else 0))


# -- shared Prepare steps ------------------------------------------------------------------

def q4_input_params(scale: float) -> tuple[int, int, int]:
    """(multiplier, shift, radius) taking int8 input differences to Q4.27, as the int8
    LOGISTIC / TANH Prepare: frexp of scale * 2**27 with no renormalization of a multiplier
    that rounds up to 2**31 (the C cast wraps it), and the radius beyond which the output
    saturates. shift < 0 (scale below 2**-28) is left to the caller to reject."""
    q, shift = math.frexp(float(scale) * float(1 << 27))
    mult = wrap32(int(tflite_round(q * (1 << 31))))
    radius = input_radius(4, shift) if shift >= 0 else 0
    return mult, shift, radius
