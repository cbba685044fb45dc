/* TFLite's integer requantization, exact, as inline C (no 64-bit division: TFLite divides by
 * 2^31 with truncation toward zero, done here by a shift of the magnitude). */
#ifndef ERT_FIXEDPOINT_H
#define ERT_FIXEDPOINT_H

#include <stdint.h>

/* SaturatingRoundingDoublingHighMul. The one saturating case (both INT32_MIN) cannot occur:
 * the binder checks every multiplier is >= 0. */
static inline int32_t ert_srdhm(int32_t a, int32_t b)
{
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t t = ab >= 0 ? ab + (1 << 30) : ab + (1 - (1 << 30));
    /* t / 2^31 truncating toward zero; |t| < 2^62 so the negation cannot overflow */
    return (int32_t)(t >= 0 ? (t >> 31) : -((-t) >> 31));
}

/* RoundingDivideByPOT: x / 2^e rounding half away from zero, 0 <= e <= 31. */
static inline int32_t ert_rdbpot(int32_t x, int32_t e)
{
    int32_t mask = (int32_t)((1u << e) - 1u);
    int32_t rem = x & mask;
    int32_t thr = (mask >> 1) + (x < 0);
    return (x >> e) + (rem > thr);
}

/* MultiplyByQuantizedMultiplier with TFLite's double rounding; shift in [-31, 30] (checked at
 * bind). The left shift wraps as the reference's int32 multiply does. */
static inline int32_t ert_mbqm(int32_t x, int32_t m, int32_t shift)
{
    int32_t ls = shift > 0 ? shift : 0;
    int32_t rs = shift > 0 ? 0 : -shift;
    return ert_rdbpot(ert_srdhm((int32_t)((uint32_t)x << ls), m), rs);
}

static inline int32_t ert_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* int8 ADD of one element pair: prm = ADD's 12 params (compiler/prepare/add.py):
 * off1, off2, left_shift, m1, s1, m2, s2, out_off, mo, so, lo, hi. */
static inline int8_t ert_add_one(const int32_t *a, int32_t x1, int32_t x2)
{
    int32_t v1 = ert_mbqm((x1 + a[0]) * (1 << a[2]), a[3], a[4]);
    int32_t v2 = ert_mbqm((x2 + a[1]) * (1 << a[2]), a[5], a[6]);
    return (int8_t)ert_clamp(ert_mbqm(v1 + v2, a[8], a[9]) + a[7], a[10], a[11]);
}

/* Checks on ADD's 12 params that keep ert_add_one free of undefined behaviour. */
static inline int ert_add_params_ok(const int32_t *a)
{
    return a[0] >= -255 && a[0] <= 255 && a[1] >= -255 && a[1] <= 255 && a[2] >= 0 && a[2] <= 20 &&
           a[3] >= 0 && a[5] >= 0 && a[8] >= 0 && a[4] >= -31 && a[4] <= 0 && a[6] >= -31 &&
           a[6] <= 0 && a[9] >= -31 && a[9] <= 0;
}

#endif
