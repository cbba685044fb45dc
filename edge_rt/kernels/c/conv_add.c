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
    ert_conv_run(op, lvl, op->prm + ADD_AT, op->prm[ERT_GEOM_PRMS] == 1);
}

ERT_VARIANTS(ert_conv_add_run, conv_add_body)
