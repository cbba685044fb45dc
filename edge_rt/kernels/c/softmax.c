/* SOFTMAX, int8 over the last axis (TFLite Micro's reference, kernels/ref/softmax.py): per row
 * of `depth` values with d = max - x in [0, 255] and the pack-time exp tables
 * (compiler/prepare/softmax.py):
 *   1. sum = sum of exp_q12[d] (Q12.19, int32 wrap-around);
 *   2. 1/sum = scale * 2^-bits_over_unit (gemmlowp's reciprocal: leading-zero normalization,
 *      then 1/(1+a) by three Newton-Raphson steps in fixed point);
 *   3. y = clamp(rdbpot(srdhm(scale, exp_q31[d]), bits_over_unit + 23) - 128).
 * prm: rows, depth; p: x b, exp_q31[256] i, exp_q12[256] i, y o. */
#include "ert_elem.h"

int ert_softmax_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != 2 || p[0] < 0 || p[1] < 0 || p[1] > ERT_MAX_DIM || (int64_t)p[0] * p[1] > ERT_MAX_DIM) return -1;
    e[0] = e[3] = (int64_t)p[0] * p[1];
    e[1] = e[2] = 256 * 4;
    return 0;
}

/* gemmlowp SaturatingRoundingMultiplyByPOT for 0 < e < 31 */
static inline int32_t sat_shl(int32_t x, int32_t e)
{
    int32_t limit = (int32_t)((1u << (31 - e)) - 1u);
    if (x > limit) return INT32_MAX;
    if (x < -limit) return INT32_MIN;
    return (int32_t)((uint32_t)x << e);
}

static inline int32_t wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* 1 / (1 + a) in Q0.31 for a in Q0.31 (fixedpoint.one_over_one_plus_x) */
static int32_t one_over_one_plus_x(int32_t a)
{
    int64_t s = (int64_t)a + INT32_MAX;   /* rounding half sum with 1.0 */
    s += s >= 0 ? 1 : -1;
    int64_t q = (s >= 0 ? s : -s) >> 1;
    int32_t d = (int32_t)(s >= 0 ? q : -q);
    int32_t x = wrap_add(1515870810, ert_srdhm_sat(d, -1010580540));   /* 48/17 - 32/17 d */
    for (int i = 0; i < 3; i++) {
        int32_t err = (int32_t)((uint32_t)(1 << 29) - (uint32_t)ert_srdhm_sat(d, x));
        x = wrap_add(x, sat_shl(ert_srdhm_sat(x, err), 2));
    }
    return sat_shl(x, 1);
}

static inline int32_t clz32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
}

ERT_INLINE void softmax_body(const ert_op *op, int lvl)
{
    int32_t rows = op->prm[0], depth = op->prm[1];
    const int8_t *x = (const int8_t *)op->p[0];
    const int32_t *eq31 = (const int32_t *)op->p[1], *eq12 = (const int32_t *)op->p[2];
    int8_t *y = (int8_t *)op->p[3];
    (void)lvl;
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *xr = x + (int64_t)r * depth;
        int8_t *yr = y + (int64_t)r * depth;
        int32_t mx = -128;
        for (int32_t i = 0; i < depth; i++) mx = xr[i] > mx ? xr[i] : mx;
        uint32_t sum = 0;
        for (int32_t i = 0; i < depth; i++) sum += (uint32_t)eq12[mx - xr[i]];
        /* GetReciprocal(sum, 12): normalize by the leading zeros to 1 + f */
        int32_t hp1 = clz32(sum);
        uint32_t shifted = hp1 >= 32 ? 0u : sum << hp1;
        int32_t scale = one_over_one_plus_x((int32_t)(shifted - 0x80000000u));
        /* exponent = bits_over_unit + 23 = 35 - hp1, in [3, 35]: the wide rounding divide */
        int32_t ex = 12 - hp1 + 23;
        for (int32_t i = 0; i < depth; i++) {
            int32_t q = ert_rdbpot_wide(ert_srdhm_sat(scale, eq31[mx - xr[i]]), ex) - 128;
            yr[i] = (int8_t)ert_clamp(q, -128, 127);
        }
    }
}

ERT_VARIANTS(ert_softmax_run, softmax_body)
