/* LEAKY_RELU, int8 (TFLite Micro's QuantizeLeakyRelu): with v = x - zi,
 * y = clamp(zo + mbqm(v, identity)) for v >= 0, clamp(zo + sign * mbqm(v, |alpha|)) below.
 * prm: n, zi, zo, mi, si, ma, sa, sign (compiler/prepare/leaky_relu.py); p: x b, y o. */
#include "ert_elem.h"

int ert_leaky_relu_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != 8 || p[0] < 0 || p[0] > ERT_MAX_DIM || !ert_int8_ok(p[1]) || !ert_int8_ok(p[2]) || p[3] < 0 ||
        p[4] < -31 || p[4] > 30 || p[5] < 0 || p[6] < -31 || p[6] > 30 || (p[7] != 1 && p[7] != -1))
        return -1;
    e[0] = e[1] = p[0];
    return 0;
}

ERT_INLINE void leaky_relu_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t n = p[0], zi = p[1], zo = p[2], mi = p[3], si = p[4], ma = p[5], sa = p[6], sign = p[7];
    const int8_t *x = (const int8_t *)op->p[0];
    int8_t *y = (int8_t *)op->p[1];
    (void)lvl;
    for (int32_t i = 0; i < n; i++) {
        int32_t v = x[i] - zi;
        /* the alpha product is never INT32_MIN (srdhm's range), so its negation is defined */
        int32_t r = v >= 0 ? ert_mbqm(v, mi, si) : sign * ert_mbqm(v, ma, sa);
        y[i] = ert_add_clamp8(r, zo, -128, 127);
    }
}

ERT_VARIANTS(ert_leaky_relu_run, leaky_relu_body)
