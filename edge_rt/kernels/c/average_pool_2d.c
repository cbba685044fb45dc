/* AVERAGE_POOL_2D, int8: per output the valid taps of the window are summed (int32) and
 * divided by their count rounding half away from zero, then clamped (TFLite Micro's
 * reference). The window walk is ert_pool.h's; prm and p: there. */
#include "ert_pool.h"

int ert_average_pool_2d_extents(const int32_t *p, int32_t np, int64_t *e)
{
    return ert_pool_extents(p, np, e);
}

ERT_INLINE void avg_init(void *acc, int32_t nc)
{
    int32_t *a = (int32_t *)acc;
    for (int32_t j = 0; j < nc; j++) a[j] = 0;
}

ERT_INLINE void avg_tap(void *acc, const int8_t *xp, int32_t nc)
{
    int32_t *a = (int32_t *)acc;
    for (int32_t j = 0; j < nc; j++) a[j] += xp[j];
}

ERT_INLINE void avg_out(const void *acc, int8_t *yo, int32_t nc, int32_t count, int32_t lo, int32_t hi)
{
    const int32_t *a = (const int32_t *)acc;
    int32_t half = count / 2;
    for (int32_t j = 0; j < nc; j++) {
        /* C division truncates toward zero: the reference's rounding */
        int32_t q = a[j] > 0 ? (a[j] + half) / count : -((half - a[j]) / count);
        yo[j] = (int8_t)ert_clamp(q, lo, hi);
    }
}

ERT_INLINE void avgpool_body(const ert_op *op, int lvl)
{
    (void)lvl;
    ert_pool_walk(op, avg_init, avg_tap, avg_out);
}

ERT_VARIANTS(ert_average_pool_2d_run, avgpool_body)
