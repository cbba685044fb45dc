/* FULLY_CONNECTED, int8: y[b, j] = clamp(mbqm(folded_bias[j] + sum_i x[b, i] * w[j, i]) + off).
 * The input zero point is folded into the bias at pack time, so the int8 weights are read
 * directly, in the one copy a C pack holds: their VNNI packing (ert_pdot.h). Batch rows go
 * through the product four at a time, requantized in registers. prm and p: ert_kernels.h. */
#include "ert_fixedpoint.h"
#include "ert_pdot.h"

int ert_fully_connected_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != 6) return -1;
    int64_t b = p[0], n = p[1], k = p[2];
    if (!ERT_DIM_OK(b) || !ERT_DIM_OK(n) || !ERT_DIM_OK(k) || k > ERT_MAX_DOT || b * n > ERT_MAX_DIM ||
        b * k > ERT_MAX_DIM || n * k > (int64_t)1 << 30)
        return -1;
    e[0] = b * k; e[1] = ERT_WP_BYTES(n, k); e[2] = e[3] = e[4] = 4 * n; e[5] = b * n;
    e[6] = 0; /* no scratch (the ABI keeps the operand) */
    e[7] = ERT_WSUM_BYTES(n);
    return 0;
}

ERT_INLINE void fc_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t nb = p[0], n = p[1], k = p[2];
    const int8_t *x = (const int8_t *)op->p[0], *wp = (const int8_t *)op->p[1];
    const int32_t *bias = (const int32_t *)op->p[2], *mult = (const int32_t *)op->p[3];
    const int32_t *shift = (const int32_t *)op->p[4];
    int8_t *y = (int8_t *)op->p[5];
    const int32_t *wsum = (const int32_t *)op->p[7];
    for (int32_t b = 0; b < nb; b += 4) {
        int32_t r = nb - b < 4 ? nb - b : 4;
        const int8_t *xr[4];
        int8_t *yr[4];
        for (int32_t q = 0; q < r; q++) {
            xr[q] = x + (int64_t)(b + q) * k;
            yr[q] = y + (int64_t)(b + q) * n;
        }
        ert_epi e = {bias, wsum, mult, shift, p[3], p[4], p[5], NULL, 0, yr, NULL};
        ert_fc_product(lvl, xr, r, k, wp, n, &e);
    }
}

ERT_VARIANTS(ert_fully_connected_run, fc_body)
