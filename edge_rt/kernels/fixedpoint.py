# gemmlowp-style fixed-point helpers on int32 raw values (device-safe, scalar).
# A raw value r in format Qm.(31-m) stands for r / 2**(31-m). Every helper reproduces the
# C++ integer semantics TFLite relies on (two's-complement wrap, truncating division), so
# results match the reference bit for bit. compiler/fixedpoint.py builds on these on the host.
from .quant import INT32_MAX, INT32_MIN, SMALL_MAX, rdbpot, srdhm, srdhm_halves, wrap32

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


# -- small-int-safe variants (32-bit MicroPython; see quant.py for the small-int bound) -----
# SOFTMAX needs Q0.31 values in [2**30, 2**31) (the reciprocal's operands and result, the
# exp table), which are big ints on 32-bit MicroPython. Here such a value is carried as
# 15-bit limbs (v0, v1, v2): v = v2 * 2**30 + v1 * 2**15 + v0 with v2 in {0, 1}, and every
# intermediate stays within |v| <= 2**30 - 1. Results that are several values are written
# into a caller's preallocated list (a returned tuple would allocate).
_TWO29 = 0x20000000  # 2**29


def mul_pos_limbs(a0, a1, a2, b0, b1, b2, whole):
    """With N = A * B + 2**30 (0 <= A, B < 2**31 as limbs): floor(N / 2**31), i.e.
    srdhm(A, B), if `whole` (-1 if that is not a small int), else floor(N / 2**45).

    N is summed column by column in base 2**15; bounds: every limb product is at most
    (2**15 - 1)**2 = 2**30 - 2**16 + 1, carries out of columns 0-1 total at most 2**16 - 3."""
    t = ((a0 * b0) >> 15) + a0 * b1           # column 1 (column 0 only carries)
    carry = t >> 15
    t = (t & 0x7FFF) + a1 * b0
    carry += t >> 15                          # <= 2**16 - 3
    t = a1 * b1 + carry                       # column 2: <= 2**30 - 2
    d = (t & 0x7FFF) + a0 * b2 + a2 * b0 + 1  # + 1: the 2**30 nudge; < 3 * 2**15 + 1
    h = (t >> 15) + (d >> 15) + a1 * b2 + a2 * b1 + ((a2 * b2) << 15)  # columns 3 and up
    if whole:
        return (h << 14) + ((d & 0x7FFF) >> 1) if h <= 0xFFFF else -1
    return h


def _limbs_of_offset(xo, out):
    """x = 2**29 + xo (0 <= x < 2**31, xo small) into 15-bit limbs out[0..2]."""
    if xo < _TWO29:
        x = xo + _TWO29
        out[0] = x & 0x7FFF
        out[1] = x >> 15
        out[2] = 0
    else:  # x = 2**30 + (xo - 2**29)
        r = xo - _TWO29
        out[0] = r & 0x7FFF
        out[1] = r >> 15
        out[2] = 1


def reciprocal_limbs(x, integer_bits, out):
    """reciprocal(x, integer_bits) for 1 <= x <= 2**30 - 1 without big ints: writes the scale
    (Q0.31) as limbs into out[0..2] and bits_over_unit into out[3]; returns False (out
    unspecified) if x or an intermediate leaves the range this covers (then use reciprocal).

    The same steps as reciprocal: x = 2**(b-1) * (1 + f / 2**31) with b its bit length, then
    1 / (1 + f) by one_over_one_plus_x_limbs."""
    if x < 1 or x > SMALL_MAX:
        return False
    b = 0
    v = x
    while v:
        v >>= 1
        b += 1
    h = 32 - b                            # clz32(x), 2..31
    r = x - (1 << (b - 1))                # f = r << h < 2**31
    f_hi = r >> (16 - h) if h <= 16 else r << (h - 16)
    f_lo = (r & (0xFFFF >> h)) << h if h < 16 else 0
    if not one_over_one_plus_x_limbs(f_hi, f_lo, out):
        return False
    out[3] = integer_bits - h
    return True


def one_over_one_plus_x_limbs(f_hi, f_lo, out):
    """one_over_one_plus_x(f) for 0 <= f < 2**31 given as uint16 halves, without big ints: the
    result (Q0.31) as 15-bit limbs into out[0..2]; False (out unspecified) outside the case covered.

    Half the denominator d = 2**30 + f / 2 (rounding_half_sum(f, Q0_ONE), which is exact here);
    Newton-Raphson on x_n in Q2.29, carried as x_n = 2**29 + xo because x_n reaches 2**30."""
    d_hi = 0x4000 | (f_hi >> 1)           # d = 2**30 + (f >> 1) as uint16 halves
    d_lo = ((f_hi & 1) << 15) | (f_lo >> 1)
    d0 = d_lo & 0x7FFF
    d1 = (d_lo >> 15) | ((d_hi & 0x3FFF) << 1)
    # x_0 = 48/17 + d * (-32/17): 1515870810 = 2**29 + 978999898 (both small)
    xo = srdhm_halves(-1010580540, d_lo, d_hi) + 978999898
    for _ in range(3):
        if xo < -_TWO29:                  # x_n < 0: not the convergent case covered here
            return False
        _limbs_of_offset(xo, out)         # x_n < 2**30 + 2**29 as xo <= 2**30 - 1
        dx = mul_pos_limbs(d0, d1, 1, out[0], out[1], out[2], True)
        if dx < 0:
            return False
        s = srdhm_halves(_TWO29 - dx, out[0] | ((out[1] & 1) << 15), (out[1] >> 1) | (out[2] << 14))
        if s > 0x7FFFFFF or s < -0x7FFFFFF:  # |s << 2| < 2**29: no overflow, xo + delta > -2**30
            return False
        s <<= 2                           # sat_shl(s, 2) without saturation
        if s > SMALL_MAX - xo:
            return False
        xo += s
    if xo < -_TWO29:
        return False
    if xo < _TWO29:                       # scale = sat_shl(x, 1) = 2 * x
        x = xo + _TWO29
        out[0] = (x & 0x3FFF) << 1
        out[1] = (x >> 14) & 0x7FFF
        out[2] = x >> 29
    else:                                 # x >= 2**30: saturates to INT32_MAX
        out[0] = out[1] = 0x7FFF
        out[2] = 1
    return True


# -- log (LOG_SOFTMAX) ------------------------------------------------------------------------
# gemmlowp-style log_x_for_x_greater_than_or_equal_to_1 as TFLite's common.h defines it. Its
# Q0.31 intermediates reach 2**31 - 1, so on 32-bit MicroPython this allocates big ints;
# log_ge_1_small below computes the same without them.
_LOG_2 = 1488522236          # log(2), Q0.31
_SQRT_SQRT_HALF = 1805811301  # 0.5 ** 0.25
_SQRT_HALF = 1518500250       # 0.5 ** 0.5
_ALPHA_N = 117049297          # 11/240 * 2 ** 0.25
_ALPHA_D = 127690142          # 1/20 * 2 ** 0.25
_ALPHA_I = 1057819769         # 2 / 2 ** 0.25 - 2 ** 0.25
_ALPHA_F = 638450708          # 1/4 * 2 ** 0.25


def _sat32(x):
    return INT32_MAX if x > INT32_MAX else (INT32_MIN if x < INT32_MIN else x)


def log_ge_1(x, in_bits, out_bits):
    """log(x) for x >= 1 given raw in Q(in_bits), raw result in Q(out_bits).

    1. x (read as Q0.31) is normalized two ways: r_a = x * 2**(clz - 1) * sqrt(1/2) * 2 and
       r_b = x * 2**(clz(x * sqrt(1/2)) - 1); r = min(r_a, r_b) lies in [sqrt(1/2), 1), and the
       power of two taken out (minus 1/4 or plus 1/4) is the larger of the two adjusted
       exponents, in Q(out_bits + 1).
    2. log(r) by a rational approximation around 2**-0.25: with q = 2 (r - 2**-0.25),
       p = (r + 2**-0.25) / 2: num = q r + q^3 alpha_n, den - 1 = p (alpha_i + q + alpha_d q^2)
       + alpha_f q; log(r) ~= num / den.
    3. result = Rescale(exponent * log(2) + num * 1/den) to Q(out_bits)."""
    acc_bits = out_bits + 1
    shifted_quarter = rdbpot(1 << 29, acc_bits)
    za_h1 = clz32(x)
    r_a_tmp = sat_shl(x, za_h1 - 1) if za_h1 > 1 else x
    r_a = sat_shl(srdhm(r_a_tmp, _SQRT_HALF), 1)
    za_adj = _sat32(sat_shl(in_bits - za_h1, 31 - acc_bits) + shifted_quarter)
    z_b = srdhm(x, _SQRT_HALF)
    zb_h = clz32(z_b) - 1
    r_b = sat_shl(x, zb_h) if zb_h > 0 else x
    zb_adj = _sat32(sat_shl(in_bits - zb_h, 31 - acc_bits) - shifted_quarter)
    r = r_a if r_a < r_b else r_b
    z_adj = za_adj if za_adj > zb_adj else zb_adj
    p = rounding_half_sum(r, _SQRT_SQRT_HALF)
    q = wrap32(r - _SQRT_SQRT_HALF)
    q = wrap32(q + q)
    sq = srdhm(q, q)
    num = wrap32(srdhm(q, r) + srdhm(srdhm(q, sq), _ALPHA_N))
    den = wrap32(srdhm(p, wrap32(wrap32(_ALPHA_I + q) + srdhm(_ALPHA_D, sq))) + srdhm(_ALPHA_F, q))
    recip = one_over_one_plus_x(den)
    num_scaled = rdbpot(num, acc_bits)
    total = wrap32(srdhm(z_adj, _LOG_2) + srdhm(num_scaled, recip))
    e = acc_bits - out_bits  # Rescale to fewer integer bits: a saturating left shift
    return sat_shl(total, e) if e > 0 else total


# -- log without big ints (LOG_SOFTMAX on 32-bit ports) ----------------------------------------
# log_ge_1's steps for a small-int x, every Q0.31 value that reaches 2**30 carried as uint16
# halves (v = hi * 2**16 + lo; literal names _H/_L below), products of two such values by
# 15-bit limb columns (srdhm_pos_halves), of a small value and one by srdhm_halves.
_SQRT_HALF_H, _SQRT_HALF_L = _SQRT_HALF >> 16, _SQRT_HALF & 0xFFFF
_SSH_H, _SSH_L = _SQRT_SQRT_HALF >> 16, _SQRT_SQRT_HALF & 0xFFFF
_ALPHA_I_H, _ALPHA_I_L = _ALPHA_I >> 16, _ALPHA_I & 0xFFFF
_LOG_2_H, _LOG_2_L = _LOG_2 >> 16, _LOG_2 & 0xFFFF


def srdhm_pos_halves(a_hi, a_lo, b_hi, b_lo, out):
    """srdhm(A, B) for 0 <= A, B < 2**31 given as uint16 halves, its halves into out[0] (hi),
    out[1] (lo). N = A * B + 2**30 is summed in 15-bit limb columns (bounds as mul_pos_limbs:
    every partial sum <= 2**30 - 1); floor(N / 2**31) = h * 2**14 + (bits 30..44 of N) >> 1
    with h = floor(N / 2**45) < 2**17."""
    a0 = a_lo & 0x7FFF
    a1 = (a_lo >> 15) | ((a_hi & 0x3FFF) << 1)
    a2 = a_hi >> 14
    b0 = b_lo & 0x7FFF
    b1 = (b_lo >> 15) | ((b_hi & 0x3FFF) << 1)
    b2 = b_hi >> 14
    t = ((a0 * b0) >> 15) + a0 * b1           # column 1 (column 0 only carries)
    carry = t >> 15
    t = (t & 0x7FFF) + a1 * b0
    carry += t >> 15                          # <= 2**16 - 2
    t = a1 * b1 + carry                       # column 2: <= 2**30 - 1
    d = (t & 0x7FFF) + a0 * b2 + a2 * b0 + 1  # + 1: the 2**30 nudge
    h = (t >> 15) + (d >> 15) + a1 * b2 + a2 * b1 + ((a2 * b2) << 15)
    out[0] = h >> 2
    out[1] = ((h & 3) << 14) | ((d & 0x7FFF) >> 1)


def _halves_shl(x, k, out, i):
    """Halves of x << k (0 <= x, x << k < 2**31, 0 <= k <= 31) into out[i] (hi), out[i + 1] (lo)."""
    if k <= 16:
        out[i] = x >> (16 - k)
        out[i + 1] = (x & (0xFFFF >> k)) << k
    else:
        out[i] = x << (k - 16)
        out[i + 1] = 0


def log_ge_1_small(x, in_bits, out_bits, w):
    """log_ge_1(x, in_bits, out_bits) for 1 <= x <= 2**30 - 1 with every intermediate a small int:
    the result into w[0]; w (a list of at least 3) is scratch. False (w[0] unspecified) where a
    step leaves the case covered (then use log_ge_1). Steps and names as log_ge_1's."""
    if x < 1 or x > SMALL_MAX:
        return False
    acc_bits = out_bits + 1
    quarter = rdbpot(1 << 29, acc_bits)
    adj_max = SMALL_MAX >> (31 - acc_bits)    # |k| << (31 - acc_bits) stays small below this
    b = 0
    v = x
    while v:
        v >>= 1
        b += 1
    za_h1 = 32 - b                            # clz32(x) >= 2
    _halves_shl(x, za_h1 - 1, w, 0)           # r_a_tmp in [2**30, 2**31): no saturation
    srdhm_pos_halves(w[0], w[1], _SQRT_HALF_H, _SQRT_HALF_L, w)
    if w[0] >= 0x4000:                        # sat_shl(., 1) saturates: r_a = INT32_MAX
        ra_h, ra_l = 0x7FFF, 0xFFFF
    else:
        ra_h, ra_l = (w[0] << 1) | (w[1] >> 15), (w[1] << 1) & 0xFFFF
    k = in_bits - za_h1
    if k > adj_max or k < -adj_max:
        return False
    za_adj = (k << (31 - acc_bits)) + quarter
    z_b = srdhm_halves(x, _SQRT_HALF_L, _SQRT_HALF_H)
    b = 0
    v = z_b
    while v:
        v >>= 1
        b += 1
    zb_h = 31 - b                             # clz32(z_b) - 1 >= 1
    if x >> (31 - zb_h):                      # sat_shl(x, zb_h) saturates
        rb_h, rb_l = 0x7FFF, 0xFFFF
    else:
        _halves_shl(x, zb_h, w, 0)
        rb_h, rb_l = w[0], w[1]
    k = in_bits - zb_h
    if k > adj_max or k < -adj_max:
        return False
    zb_adj = (k << (31 - acc_bits)) - quarter
    if ra_h < rb_h or (ra_h == rb_h and ra_l < rb_l):
        r_h, r_l = ra_h, ra_l
    else:
        r_h, r_l = rb_h, rb_l
    z_adj = za_adj if za_adj > zb_adj else zb_adj
    # p = rounding_half_sum(r, 2**-0.25): (r + c + 1) >> 1, r and c >= 0
    lo = r_l + _SSH_L + 1
    hi = r_h + _SSH_H + (lo >> 16)
    lo &= 0xFFFF
    p_h, p_l = hi >> 1, ((hi & 1) << 15) | (lo >> 1)
    # q = 2 (r - c): r is in [2**31 sqrt(1/2), 2**31), so |q| < 2**30 and no wrap
    q = ((r_h - _SSH_H) << 16) + (r_l - _SSH_L)
    q += q
    aq = -q if q < 0 else q
    sq = srdhm_halves(aq, aq & 0xFFFF, aq >> 16)
    num = srdhm_halves(q, r_l, r_h) + srdhm_halves(srdhm_halves(q, sq & 0xFFFF, sq >> 16),
                                                   _ALPHA_N & 0xFFFF, _ALPHA_N >> 16)
    # den = srdhm(p, alpha_i + q + srdhm(alpha_d, sq)) + srdhm(alpha_f, q); the sum is positive
    t = q + srdhm_halves(sq, _ALPHA_D & 0xFFFF, _ALPHA_D >> 16)
    lo = _ALPHA_I_L + (t & 0xFFFF)
    hi = _ALPHA_I_H + (t >> 16) + (lo >> 16)
    if hi < 0 or hi > 0x7FFF:
        return False
    srdhm_pos_halves(p_h, p_l, hi, lo & 0xFFFF, w)
    t = srdhm_halves(q, _ALPHA_F & 0xFFFF, _ALPHA_F >> 16)
    lo = w[1] + (t & 0xFFFF)
    hi = w[0] + (t >> 16) + (lo >> 16)
    if hi < 0 or hi > 0x7FFF:                 # den outside [0, 1): not covered
        return False
    if not one_over_one_plus_x_limbs(hi, lo & 0xFFFF, w):
        return False
    rc_l = w[0] | ((w[1] & 1) << 15)          # the reciprocal's limbs as halves
    rc_h = (w[1] >> 1) | (w[2] << 14)
    total = srdhm_halves(z_adj, _LOG_2_L, _LOG_2_H) + srdhm_halves(rdbpot(num, acc_bits), rc_l, rc_h)
    e = acc_bits - out_bits
    if e > 0:
        lim = SMALL_MAX >> e
        if total > lim or total < -lim:
            return False
        total <<= e
    w[0] = total
    return True
