/* CONV_2D, int8, NHWC input, OHWI filter: output pixels four at a time; each pixel's K =
 * kh*kw*ic input bytes (read in place for 1x1, else gathered into a patch with the input zero
 * point in padded taps) times the int8 filter (ert_gemm.h) into int32 rows, each requantized in
 * one vectorized loop. prm and p: ert_kernels.h. */
#include "ert_conv.h"

int ert_conv_2d_extents(const int32_t *p, int32_t np, int64_t *e)
{
    int64_t xb, yb, taps;
    if (np != ERT_GEOM_PRMS || ert_geom_check(p, &xb, &yb, &taps) != 0 || taps * p[3] > ERT_MAX_DOT) return -1;
    int64_t oc = p[4], k = taps * p[3];
    e[0] = xb; e[1] = oc * k; e[2] = e[3] = e[4] = 4 * oc; e[5] = yb; e[6] = ERT_PATCH_SCRATCH(p, k, oc);
    e[7] = ERT_WP_BYTES(oc, k); e[8] = ERT_WSUM_BYTES(oc);
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
    int32_t k = g.kh * g.kw * g.ic;
    int8_t *patch = (int8_t *)op->p[6];
    int32_t rows = ERT_GEMM_ROWS(g.oc);
    int direct = ert_direct_1x1(op->prm); /* rows read in place (unbiased), no patch */
    int biased = ERT_BIASED(lvl) && !direct;
    const int8_t *wp = (const int8_t *)op->p[7];
    const int32_t *wsum = (const int32_t *)op->p[8];
    ert_pix pos = {0, 0, 0};
    for (int64_t done = 0;;) {
        const int8_t *xr[16];
        int32_t r = ert_next_pixels(&g, &pos, x, patch, ERT_R16(k), xr, rows, biased);
        if (!r) break;
        int8_t *yr[16];
        for (int32_t q = 0; q < r; q++, done++)
            yr[q] = y + done * g.oc;
        ert_epi e = {bias, wsum, mult, shift, g.out_off, g.lo, g.hi, NULL, 0, yr, NULL};
        ert_gemm(lvl, xr, r, k, wt, wp, g.oc, &e, biased);
    }
}

ERT_VARIANTS(ert_conv_2d_run, conv_body)
