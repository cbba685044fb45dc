/* MAX_POOL_2D, int8: per output the maximum of the window's valid taps (from -128), clamped
 * to the fused activation (TFLite Micro's reference). prm and p: ert_pool.h. */
#include "ert_pool.h"

int ert_max_pool_2d_extents(const int32_t *p, int32_t np, int64_t *e)
{
    return ert_pool_extents(p, np, e);
}

ERT_INLINE void maxpool_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t nb = p[0], h = p[1], w = p[2], c = p[3], oh = p[4], ow = p[5], lo = p[12], hi = p[13];
    const int8_t *x = (const int8_t *)op->p[0];
    int8_t *y = (int8_t *)op->p[1];
    int8_t mx[ERT_POOL_CBLK];
    (void)lvl;
    for (int32_t b = 0; b < nb; b++)
        for (int32_t oy = 0; oy < oh; oy++)
            for (int32_t ox = 0; ox < ow; ox++) {
                int32_t y0, y1, x0, x1;
                ert_pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
                int8_t *yo = y + (((int64_t)b * oh + oy) * ow + ox) * c;
                for (int32_t c0 = 0; c0 < c; c0 += ERT_POOL_CBLK) {
                    int32_t nc = c - c0 < ERT_POOL_CBLK ? c - c0 : ERT_POOL_CBLK;
                    for (int32_t j = 0; j < nc; j++) mx[j] = -128;
                    for (int32_t iy = y0; iy < y1; iy++)
                        for (int32_t ix = x0; ix < x1; ix++) {
                            const int8_t *xp = x + (((int64_t)b * h + iy) * w + ix) * c + c0;
                            for (int32_t j = 0; j < nc; j++) mx[j] = xp[j] > mx[j] ? xp[j] : mx[j];
                        }
                    for (int32_t j = 0; j < nc; j++) yo[c0 + j] = (int8_t)ert_clamp(mx[j], lo, hi);
                }
            }
}

ERT_VARIANTS(ert_max_pool_2d_run, maxpool_body)
