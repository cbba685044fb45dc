/* CONV_2D, int8, NHWC input, OHWI filter: per output pixel, every output channel's taps are
 * accumulated in an int32 row (the filter read directly, runs of valid taps as one dot product:
 * no im2col, for 1x1 the pixel's channels are the whole dot), then the row is requantized.
 * prm and p: ert_kernels.h. */
#include "ert_conv.h"

int ert_conv_2d_extents(const int32_t *p, int32_t np, int64_t *e)
{
    int64_t xb, yb, taps;
    if (np != ERT_GEOM_PRMS || ert_geom_check(p, &xb, &yb, &taps) != 0 || taps * p[3] > ERT_MAX_DOT) return -1;
    int64_t oc = p[4];
    e[0] = xb; e[1] = oc * taps * p[3]; e[2] = e[3] = e[4] = 4 * oc; e[5] = yb; e[6] = 4 * oc;
    return 0;
}

ERT_INLINE void conv_body(const ert_op *op, int lvl)
{
    ert_geom g;
    ert_geom_load(&g, op->prm);
    const int8_t *x = (const int8_t *)op->p[0], *wt = (const int8_t *)op->p[1];
    const int32_t *bias = (const int32_t *)op->p[2], *mult = (const int32_t *)op->p[3];
    const int32_t *shift = (const int32_t *)op->p[4];
    int8_t *y = (int8_t *)op->p[5];
    int32_t *acc = (int32_t *)op->p[6];
    for (int32_t b = 0; b < g.nb; b++) {
        const int8_t *xb = x + (int64_t)b * g.h * g.w * g.ic;
        for (int32_t oy = 0; oy < g.oh; oy++)
            for (int32_t ox = 0; ox < g.ow; ox++) {
                memcpy(acc, bias, (size_t)g.oc * 4);
                ert_conv_pixel(lvl, &g, xb, wt, oy, ox, acc);
                ert_requant_row(acc, g.oc, mult, shift, g.out_off, g.lo, g.hi,
                                y + (((int64_t)b * g.oh + oy) * g.ow + ox) * g.oc);
            }
    }
}

ERT_VARIANTS(ert_conv_2d_run, conv_body)
