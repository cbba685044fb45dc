/* RELU6, int8 (TFLite Micro): the int8 input clamped to [zero, six] on the input's grid,
 * stored unchanged. prm: n, zero, six (compiler/prepare/relu6.py); p: x b, y o (in place ok). */
#include "ert_elem.h"

int ert_relu6_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != 3 || p[0] < 0 || p[0] > ERT_MAX_DIM || !ert_int8_ok(p[1]) || !ert_int8_ok(p[2])) return -1;
    e[0] = e[1] = p[0];
    return 0;
}

ERT_INLINE void relu6_body(const ert_op *op, int lvl)
{
    int32_t n = op->prm[0], zero = op->prm[1], six = op->prm[2];
    const int8_t *x = (const int8_t *)op->p[0];
    int8_t *y = (int8_t *)op->p[1];
    (void)lvl;
    for (int32_t i = 0; i < n; i++) {
        int32_t r = x[i];
        y[i] = (int8_t)(r > six ? six : (r < zero ? zero : r));
    }
}

ERT_VARIANTS(ert_relu6_run, relu6_body)
