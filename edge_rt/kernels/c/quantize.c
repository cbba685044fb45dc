/* QUANTIZE (TFLite Micro's reference), two forms (compiler/prepare/quantize.py):
 *   mode 1, int8 -> int8: y = clamp(mbqm(x - zi, mult, shift) + zo)
 *     prm: n, 1, zi, zo, mult, shift
 *   mode 0, float32 -> int8: y = clamp(int32 wrap of (round(x / scale) + zo)), the division in
 *     float32, rounding half away from zero, x86-64's INT32_MIN for NaN and out-of-range
 *     values (the oracle's platform; kernels/ref/quantize.py)
 *     prm: n, 0, zo, scale (the float32's bits)
 *   p: x b, y o (int8 in place ok). Integer arithmetic only on the int8 form. */
#include "ert_elem.h"

int ert_quantize_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np < 2 || p[0] < 0 || p[0] > ERT_MAX_DIM) return -1;
    if (p[1] == 1) {
        if (np != 6 || !ert_int8_ok(p[2]) || !ert_int8_ok(p[3]) || p[4] < 0 || p[5] < -31 || p[5] > 30) return -1;
        e[0] = p[0];
    } else if (p[1] == 0) {
        if (np != 4 || !ert_int8_ok(p[2])) return -1;
        e[0] = 4 * (int64_t)p[0];
    } else {
        return -1;
    }
    e[1] = p[0];
    return 0;
}

static int32_t round_to_int32(float q)
{
    float a = q < 0 ? -q : q;
    if (!(a < 2147483648.0f)) return INT32_MIN;   /* NaN, infinities, beyond int32 */
    int32_t t = (int32_t)a;
    if (a - (float)t >= 0.5f) t++;                 /* exact: the fraction of a float32 */
    return q < 0 ? -t : t;
}

ERT_INLINE void quantize_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t n = p[0];
    int8_t *y = (int8_t *)op->p[1];
    (void)lvl;
    if (p[1] == 1) {
        const int8_t *x = (const int8_t *)op->p[0];
        int32_t zi = p[2], zo = p[3], m = p[4], s = p[5];
        for (int32_t i = 0; i < n; i++) y[i] = ert_add_clamp8(ert_mbqm(x[i] - zi, m, s), zo, -128, 127);
        return;
    }
    const unsigned char *xb = (const unsigned char *)op->p[0];
    float scale;
    memcpy(&scale, &p[3], 4);
    int32_t zo = p[2];
    for (int32_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, xb + 4 * (int64_t)i, 4);   /* the tensor need not be 4-byte aligned */
        int32_t r = (int32_t)((uint32_t)round_to_int32(v / scale) + (uint32_t)zo);
        y[i] = (int8_t)ert_clamp(r, -128, 127);
    }
}

ERT_VARIANTS(ert_quantize_run, quantize_body)
