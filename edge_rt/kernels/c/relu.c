/* RELU, int8 (TFLite Micro's ReluQuantized): y = clamp(mbqm(x - zi, mult, shift) + zo, lo, hi).
 * prm: n, zi, zo, mult, shift, lo, hi (compiler/prepare/relu.py); p: x b, y o (in place ok). */
#include "ert_elem.h"

int ert_relu_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != 7 || p[0] < 0 || p[0] > ERT_MAX_DIM || !ert_int8_ok(p[1]) || !ert_int8_ok(p[2]) || p[3] < 0 ||
        p[4] < -31 || p[4] > 30 || !ert_int8_ok(p[5]) || !ert_int8_ok(p[6]))
        return -1;
    e[0] = e[1] = p[0];
    return 0;
}

ERT_INLINE void relu_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t n = p[0], zi = p[1], zo = p[2], m = p[3], s = p[4], lo = p[5], hi = p[6];
    const int8_t *x = (const int8_t *)op->p[0];
    int8_t *y = (int8_t *)op->p[1];
    (void)lvl;
    for (int32_t i = 0; i < n; i++) y[i] = ert_add_clamp8(ert_mbqm(x[i] - zi, m, s), zo, lo, hi);
}

ERT_VARIANTS(ert_relu_run, relu_body)
