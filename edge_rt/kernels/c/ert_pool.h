/* Geometry and window walker of AVERAGE_POOL_2D / MAX_POOL_2D (average_pool_2d.c, max_pool_2d.c).
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

/* A pool's reduce over one block of nc <= ERT_POOL_CBLK channels: init the accumulator row,
 * tap it with each valid input pixel's channels, write the block from it. acc is the walker's
 * stack row (int32, aligned; MAX_POOL_2D keeps int8 maxima in it). */
typedef void (*ert_pool_init_fn)(void *acc, int32_t nc);
typedef void (*ert_pool_tap_fn)(void *acc, const int8_t *xp, int32_t nc);
typedef void (*ert_pool_out_fn)(const void *acc, int8_t *yo, int32_t nc, int32_t count, int32_t lo, int32_t hi);

/* Every output pixel, channels in blocks of ERT_POOL_CBLK (reading each input pixel's channels
 * contiguously), the window's valid taps only. Always inlined with constant reduce functions, so
 * each pool compiles to its own loops (the reduces inline; no call per tap). */
ERT_INLINE void ert_pool_walk(const ert_op *op, ert_pool_init_fn init, ert_pool_tap_fn tap, ert_pool_out_fn out)
{
    const int32_t *p = op->prm;
    int32_t nb = p[0], h = p[1], w = p[2], c = p[3], oh = p[4], ow = p[5], lo = p[12], hi = p[13];
    const int8_t *x = (const int8_t *)op->p[0];
    int8_t *y = (int8_t *)op->p[1];
    int32_t acc[ERT_POOL_CBLK];
    for (int32_t b = 0; b < nb; b++)
        for (int32_t oy = 0; oy < oh; oy++)
            for (int32_t ox = 0; ox < ow; ox++) {
                int32_t y0, y1, x0, x1;
                ert_pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
                int32_t count = (y1 - y0) * (x1 - x0);
                int8_t *yo = y + (((int64_t)b * oh + oy) * ow + ox) * c;
                for (int32_t c0 = 0; c0 < c; c0 += ERT_POOL_CBLK) {
                    int32_t nc = c - c0 < ERT_POOL_CBLK ? c - c0 : ERT_POOL_CBLK;
                    init(acc, nc);
                    for (int32_t iy = y0; iy < y1; iy++)
                        for (int32_t ix = x0; ix < x1; ix++)
                            tap(acc, x + (((int64_t)b * h + iy) * w + ix) * c + c0, nc);
                    out(acc, yo + c0, nc, count, lo, hi);
                }
            }
}

#endif
