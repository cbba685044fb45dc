/* CONV_2D_ADD (residual fusion): each output pixel's convolution row is requantized exactly as
 * CONV_2D stores it and combined with the same-index skip elements exactly as ADD does; no
 * intermediate tensor. The output may lie over the skip tensor (the planner's in-place pair):
 * element i reads skip[i] before writing y[i], and nothing else reads skip. */
#include "ert_conv.h"

#define ADD_AT (ERT_GEOM_PRMS + 1)

int ert_conv_add_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != ADD_AT + 12 || (p[ERT_GEOM_PRMS] != 1 && p[ERT_GEOM_PRMS] != 2) || !ert_add_params_ok(p + ADD_AT))
        return -1;
    if (ert_conv_2d_extents(p, ERT_GEOM_PRMS, e) != 0) return -1;
    e[7] = e[6];   /* acc */
    e[6] = e[5];   /* skip: same shape as the output */
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
    int32_t *acc = (int32_t *)op->p[7];
    for (int32_t b = 0; b < g.nb; b++) {
        const int8_t *xb = x + (int64_t)b * g.h * g.w * g.ic;
        for (int32_t oy = 0; oy < g.oh; oy++)
            for (int32_t ox = 0; ox < g.ow; ox++) {
                int64_t yo = (((int64_t)b * g.oh + oy) * g.ow + ox) * g.oc;
                memcpy(acc, bias, (size_t)g.oc * 4);
                ert_conv_pixel(lvl, &g, xb, wt, oy, ox, acc);
                for (int32_t c = 0; c < g.oc; c++) {
                    int32_t r = ert_clamp(ert_mbqm(acc[c], mult[c], shift[c]) + g.out_off, g.lo, g.hi);
                    int32_t s = skip[yo + c];
                    y[yo + c] = first ? ert_add_one(add, r, s) : ert_add_one(add, s, r);
                }
            }
    }
}

ERT_VARIANTS(ert_conv_add_run, conv_add_body)
