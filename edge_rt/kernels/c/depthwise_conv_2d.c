/* DEPTHWISE_CONV_2D, int8: per output pixel, each tap adds x[c / dm] * w[tap][c] over the
 * channels into an int32 row (contiguous, vectorized per SIMD target; no im2col), then the row
 * is requantized. prm and p: ert_kernels.h. */
#include "ert_conv.h"

int ert_depthwise_conv_2d_extents(const int32_t *p, int32_t np, int64_t *e)
{
    int64_t xb, yb, taps;
    if (np != ERT_GEOM_PRMS + 1 || ert_geom_check(p, &xb, &yb, &taps) != 0) return -1;
    int64_t dm = p[ERT_GEOM_PRMS], oc = p[4];
    if (dm < 1 || (int64_t)p[3] * dm != oc) return -1;
    e[0] = xb; e[1] = taps * oc; e[2] = e[3] = e[4] = 4 * oc; e[5] = yb; e[6] = ERT_PATCH_SCRATCH(taps, oc);
    e[7] = ERT_WP_BYTES(oc, taps); e[8] = ERT_WSUM_BYTES(oc);
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
    int32_t *acc = (int32_t *)op->p[6];
#if ERT_X86
    if (lvl == ERT_LVL_VNNI && g.ic == 1) {
        /* one input channel: a CONV_2D with K = kh*kw taps and the filter transposed (packed at
         * pack time into wp), run as patches through the VNNI product */
        int32_t k = g.kh * g.kw;
        int8_t *patch = (int8_t *)op->p[6];
        int32_t rows = ERT_GEMM_ROWS(g.oc);
        ert_pix pos = {0, 0, 0};
        for (int64_t done = 0;;) {
            const int8_t *xr[16];
            int32_t r = ert_next_pixels(&g, &pos, x, patch, ERT_R16(k), xr, rows, ERT_BIASED(lvl));
            if (!r) break;
            int8_t *yr[16];
            for (int32_t q = 0; q < r; q++, done++)
                yr[q] = y + done * g.oc;
            ert_epi e = {bias, (const int32_t *)op->p[8], mult, shift, g.out_off, g.lo, g.hi, NULL, 0, yr, NULL};
            ert_gemm_vnni(xr, r, k, (const int8_t *)op->p[7], g.oc, &e, 1);
        }
        return;
    }
#endif
#if ERT_X86
    if (lvl == ERT_LVL_VNNI && dm == 1 && g.kh <= 16) {
        const int8_t *rowp[16];
        for (int32_t b = 0; b < g.nb; b++)
            for (int32_t oy = 0; oy < g.oh; oy++) {
                for (int32_t ky = 0; ky < g.kh; ky++) {
                    int32_t iy = oy * g.sh - g.pt + ky * g.dh;
                    rowp[ky] = iy >= 0 && iy < g.h ? x + ((int64_t)b * g.h + iy) * g.w * g.ic : NULL;
                }
                int8_t *yr = y + ((int64_t)b * g.oh + oy) * g.ow * g.oc;
                for (int32_t ox = 0; ox < g.ow; ox++)
                    ert_dw_pixel_vnni(&g, rowp, ox, wt, bias, mult, shift, yr + (int64_t)ox * g.oc, 0);
            }
        return;
    }
#endif
    for (int32_t b = 0; b < g.nb; b++)
        for (int32_t oy = 0; oy < g.oh; oy++)
            for (int32_t ox = 0; ox < g.ow; ox++) {
                memcpy(acc, bias, (size_t)g.oc * 4);
                for (int32_t ky = 0; ky < g.kh; ky++) {
                    int32_t iy = oy * g.sh - g.pt + ky * g.dh;
                    int row_ok = iy >= 0 && iy < g.h;
                    for (int32_t kx = 0; kx < g.kw; kx++) {
                        int32_t ix = ox * g.sw - g.pl + kx * g.dw;
                        const int8_t *wp = wt + (int64_t)(ky * g.kw + kx) * g.oc;
                        if (row_ok && ix >= 0 && ix < g.w)
                            ert_dw_tap(&g, dm, x + (((int64_t)b * g.h + iy) * g.w + ix) * g.ic, wp, acc);
                        else if (g.in_zp)
                            ert_dw_pad_tap(&g, wp, acc);
                    }
                }
                ert_requant_row(acc, g.oc, mult, shift, g.out_off, g.lo, g.hi,
                                y + (((int64_t)b * g.oh + oy) * g.ow + ox) * g.oc);
            }
}

ERT_VARIANTS(ert_depthwise_conv_2d_run, dw_body)
