/* DEQUANTIZE, int8 -> float32 (TFLite Micro's reference): y = float(scale * (x - zp)), the
 * product exact in double and rounded once to float32. The 256 possible values are computed
 * per run into a stack table. prm: n, zp, scale (the float32's bits); p: x b, y o. */
#include "ert_elem.h"

int ert_dequantize_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != 3 || p[0] < 0 || p[0] > ERT_MAX_DIM / 4 || !ert_int8_ok(p[1])) return -1;
    e[0] = p[0];
    e[1] = 4 * (int64_t)p[0];
    return 0;
}

ERT_INLINE void dequantize_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t n = p[0], zp = p[1];
    const int8_t *x = (const int8_t *)op->p[0];
    unsigned char *y = (unsigned char *)op->p[1];
    float scale, t[256];
    memcpy(&scale, &p[2], 4);
    (void)lvl;
    for (int32_t q = -128; q < 128; q++) t[q + 128] = (float)((double)scale * (double)(q - zp));
    for (int32_t i = 0; i < n; i++) memcpy(y + 4 * (int64_t)i, &t[x[i] + 128], 4);
}

ERT_VARIANTS(ert_dequantize_run, dequantize_body)
