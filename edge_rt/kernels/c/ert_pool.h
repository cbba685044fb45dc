/* Geometry of AVERAGE_POOL_2D / MAX_POOL_2D (average_pool_2d.c, max_pool_2d.c).
 * prm: nb, h, w, c, oh, ow, sh, sw, fh, fw, pt, pl, lo, hi; p: x b, y o. */
#ifndef ERT_POOL_H
#define ERT_POOL_H

#include "ert_elem.h"

#define ERT_POOL_PRMS 14
#define ERT_POOL_CBLK 64 /* channels accumulated per pass (a stack row, no scratch) */

/* Valid params: every window overlaps the input (so a count is never 0), every coordinate
 * far inside int32, the window sum within int32. */
static inline int ert_pool_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != ERT_POOL_PRMS) return -1;
    for (int i = 0; i < 10; i++)
        if (!ERT_DIM_OK(p[i]) || (i >= 6 && p[i] > (1 << 16))) return -1;
    int64_t h = p[1], w = p[2], oh = p[4], ow = p[5], sh = p[6], sw = p[7], fh = p[8], fw = p[9];
    int64_t pt = p[10], pl = p[11];
    if (pt < 0 || pl < 0 || pt >= fh || pl >= fw || fh * fw > ERT_MAX_DOT) return -1;
    if ((oh - 1) * sh - pt >= h || (ow - 1) * sw - pl >= w) return -1;
    if (!ert_int8_ok(p[12]) || !ert_int8_ok(p[13])) return -1;
    e[0] = (int64_t)p[0] * h * w * p[3];
    e[1] = (int64_t)p[0] * oh * ow * p[3];
    if (e[0] > ERT_MAX_DIM || e[1] > ERT_MAX_DIM) return -1;
    return 0;
}

/* The window of output (oy, ox) clipped to the input: rows [y0, y1), columns [x0, x1). */
ERT_INLINE void ert_pool_window(const int32_t *p, int32_t oy, int32_t ox, int32_t *y0, int32_t *y1,
                                int32_t *x0, int32_t *x1)
{
    int32_t iy = oy * p[6] - p[10], ix = ox * p[7] - p[11];
    *y0 = iy < 0 ? 0 : iy;
    *y1 = iy + p[8] < p[1] ? iy + p[8] : p[1];
    *x0 = ix < 0 ? 0 : ix;
    *x1 = ix + p[9] < p[2] ? ix + p[9] : p[2];
}

#endif
