/* FULLY_CONNECTED_ADD (residual fusion): each batch row of FULLY_CONNECTED is requantized as
 * FULLY_CONNECTED stores it and combined with the same-index skip elements as ADD does; the
 * output may lie over the skip tensor (read skip[i], then write y[i]). */
#include "ert_fixedpoint.h"
#include "ert_pdot.h"

#define ADD_AT 7

int ert_fc_add_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != ADD_AT + 12 || (p[6] != 1 && p[6] != 2) || !ert_add_params_ok(p + ADD_AT)) return -1;
    if (ert_fully_connected_extents(p, 6, e) != 0) return -1;
    e[8] = e[7];                /* wsum */
    e[7] = e[6];                /* scratch (none) */
    e[6] = e[5];                /* skip */
    return 0;
}

ERT_INLINE void fc_add_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm, *add = op->prm + ADD_AT;
    int32_t nb = p[0], n = p[1], k = p[2], first = p[6] == 1;
    const int8_t *x = (const int8_t *)op->p[0], *wp = (const int8_t *)op->p[1];
    const int32_t *bias = (const int32_t *)op->p[2], *mult = (const int32_t *)op->p[3];
    const int32_t *shift = (const int32_t *)op->p[4];
    int8_t *y = (int8_t *)op->p[5];
    const int8_t *skip = (const int8_t *)op->p[6];
    const int32_t *wsum = (const int32_t *)op->p[8];
    for (int32_t b = 0; b < nb; b += 4) {
        int32_t r = nb - b < 4 ? nb - b : 4;
        const int8_t *xr[4], *sr[4];
        int8_t *yr[4];
        for (int32_t q = 0; q < r; q++) {
            xr[q] = x + (int64_t)(b + q) * k;
            yr[q] = y + (int64_t)(b + q) * n;
            sr[q] = skip + (int64_t)(b + q) * n;
        }
        ert_epi e = {bias, wsum, mult, shift, p[3], p[4], p[5], add, first, yr, sr};
        ert_fc_product(lvl, xr, r, k, wp, n, &e);
    }
}

ERT_VARIANTS(ert_fc_add_run, fc_add_body)
