/* CONV_2D_ADD (residual fusion): each output pixel's convolution row (as conv_2d.c computes it)
 * is requantized exactly as CONV_2D stores it and combined with the same-index skip elements
 * exactly as ADD does; no intermediate tensor. The output may lie over the skip tensor (the
 * planner's in-place pair): element i reads skip[i] before writing y[i], nothing else reads skip. */
#include "ert_conv.h"

#define ADD_AT (ERT_GEOM_PRMS + 1)

int ert_conv_add_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != ADD_AT + 12 || (p[ERT_GEOM_PRMS] != 1 && p[ERT_GEOM_PRMS] != 2) || !ert_add_params_ok(p + ADD_AT))
        return -1;
    if (ert_conv_2d_extents(p, ERT_GEOM_PRMS, e) != 0) return -1;
    e[9] = e[8]; e[8] = e[7];   /* wp, wsum */
    e[7] = e[6];                /* scratch */
    e[6] = e[5];                /* skip: same shape as the output */
    return 0;
}

ERT_INLINE void conv_add_body(const ert_op *op, int lvl)
{
    ert_geom g;
    ert_geom_load(&g, op->prm);
    const int32_t *add = op->prm + ADD_AT;
    int first = op->prm[ERT_GEOM_PRMS] == 1;
    const int8_t *x = (const int8_t *)op->p[0], *wt = (const int8_t *)op->p[1];
    const int32_t *bias = (const int32_t *)op->p[2], *mult = (const int32_t *)op->p[3];
    const int32_t *shift = (const int32_t *)op->p[4];
    int8_t *y = (int8_t *)op->p[5];
    const int8_t *skip = (const int8_t *)op->p[6];
    int32_t k = g.kh * g.kw * g.ic;
    int8_t *patch = (int8_t *)op->p[7];
    int32_t rows = ERT_GEMM_ROWS(g.oc);
    int direct = ert_direct_1x1(op->prm); /* rows read in place (unbiased), no patch */
    int biased = ERT_BIASED(lvl) && !direct;
    const int8_t *wp = (const int8_t *)op->p[8];
    const int32_t *wsum = (const int32_t *)op->p[9];
    ert_pix pos = {0, 0, 0};
    for (int64_t done = 0;;) {
        const int8_t *xr[16];
        int32_t r = ert_next_pixels(&g, &pos, x, patch, ERT_R16(k), xr, rows, biased);
        if (!r) break;
        int8_t *yr[16];
        const int8_t *sr[16];
        for (int32_t q = 0; q < r; q++, done++) {
            yr[q] = y + done * g.oc;
            sr[q] = skip + done * g.oc;
        }
        ert_epi e = {bias, wsum, mult, shift, g.out_off, g.lo, g.hi, add, first, yr, sr};
        ert_gemm(lvl, xr, r, k, wt, wp, g.oc, &e, biased);
    }
}

ERT_VARIANTS(ert_conv_add_run, conv_add_body)
