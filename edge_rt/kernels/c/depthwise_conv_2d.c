/* DEPTHWISE_CONV_2D, int8: per output pixel, each tap adds x[c / dm] * w[tap][c] over the
 * channels (contiguous, in registers: 64 channels at a time on AVX-512, 16 in a local array
 * elsewhere; no im2col, no scratch), then the requantization. One input channel (any depth
 * multiplier) has its own kernels (ert_dw1.h): 16 pixels per vector on VNNI, 4-pixel patches
 * elsewhere. prm and p: ert_kernels.h. */
#include "ert_dw1.h"

int ert_depthwise_conv_2d_extents(const int32_t *p, int32_t np, int64_t *e)
{
    int64_t xb, yb, taps;
    if (np != ERT_GEOM_PRMS + 1 || ert_geom_check(p, &xb, &yb, &taps) != 0 || p[5] > 64) return -1;
    int64_t dm = p[ERT_GEOM_PRMS], oc = p[4];
    if (dm < 1 || (int64_t)p[3] * dm != oc) return -1;
    e[0] = xb; e[1] = taps * oc; e[2] = e[3] = e[4] = 4 * oc; e[5] = yb; e[6] = 0;
    /* the packed filter: each filter row padded to whole 4-tap groups (ert_dw1.h) */
    e[7] = ERT_WP_BYTES(oc, (int64_t)p[5] * ((p[6] + 3) / 4) * 4); e[8] = ERT_WSUM_BYTES(oc);
    return 0;
}

ERT_INLINE void dw_body(const ert_op *op, int lvl)
{
    ert_geom g;
    ert_geom_load(&g, op->prm);
    int32_t dm = op->prm[ERT_GEOM_PRMS];
    const int8_t *x = (const int8_t *)op->p[0], *wt = (const int8_t *)op->p[1];
    const int32_t *bias = (const int32_t *)op->p[2], *mult = (const int32_t *)op->p[3];
    const int32_t *shift = (const int32_t *)op->p[4];
    int8_t *y = (int8_t *)op->p[5];
    const int8_t *rowp[64]; /* kh <= 64 (extents) */
    (void)lvl;
#if ERT_X86
    if (lvl == ERT_LVL_VNNI && ert_dw1_ok(&g)) {
        ert_dw1_vnni(&g, x, (const int8_t *)op->p[7], bias, (const int32_t *)op->p[8], mult, shift, y);
        return;
    }
#endif
#if ERT_VEC8
    if (ert_dw1_v8_ok(&g)) {
        ert_dw1_v8(&g, x, wt, bias, mult, shift, y);
        return;
    }
#endif
    for (int32_t b = 0; b < g.nb; b++)
        for (int32_t oy = 0; oy < g.oh; oy++) {
            for (int32_t ky = 0; ky < g.kh; ky++) {
                int32_t iy = oy * g.sh - g.pt + ky * g.dh;
                rowp[ky] = iy >= 0 && iy < g.h ? x + ((int64_t)b * g.h + iy) * g.w * g.ic : NULL;
            }
            int8_t *yr = y + ((int64_t)b * g.oh + oy) * g.ow * g.oc;
#if ERT_X86
            if (lvl == ERT_LVL_VNNI && ert_dw_row_ok(&g, dm)) {
                ert_dw_row_vnni(&g, rowp, 1, wt, bias, mult, shift, yr, 0);
                continue;
            }
            if (lvl == ERT_LVL_VNNI && dm == 1) {
                for (int32_t ox = 0; ox < g.ow; ox++)
                    ert_dw_pixel_vnni(&g, rowp, ox, wt, bias, mult, shift, yr + (int64_t)ox * g.oc, 0);
                continue;
            }
#endif
            for (int32_t ox = 0; ox < g.ow; ox++)
                ert_dw_pixel(&g, dm, rowp, ox, wt, bias, mult, shift, yr + (int64_t)ox * g.oc);
        }
}

ERT_VARIANTS(ert_depthwise_conv_2d_run, dw_body)
