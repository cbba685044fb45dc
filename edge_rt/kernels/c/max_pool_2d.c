/* MAX_POOL_2D, int8: per output the maximum of the window's valid taps (from -128), clamped
 * to the fused activation (TFLite Micro's reference). The window walk is ert_pool.h's; prm
 * and p: there. */
#include "ert_pool.h"

int ert_max_pool_2d_extents(const int32_t *p, int32_t np, int64_t *e)
{
    return ert_pool_extents(p, np, e);
}

ERT_INLINE void max_init(void *acc, int32_t nc)
{
    int8_t *m = (int8_t *)acc;
    for (int32_t j = 0; j < nc; j++) m[j] = -128;
}

ERT_INLINE void max_tap(void *acc, const int8_t *xp, int32_t nc)
{
    int8_t *m = (int8_t *)acc;
    for (int32_t j = 0; j < nc; j++) m[j] = xp[j] > m[j] ? xp[j] : m[j];
}

ERT_INLINE void max_out(const void *acc, int8_t *yo, int32_t nc, int32_t count, int32_t lo, int32_t hi)
{
    const int8_t *m = (const int8_t *)acc;
    (void)count;
    for (int32_t j = 0; j < nc; j++) yo[j] = (int8_t)ert_clamp(m[j], lo, hi);
}

ERT_INLINE void maxpool_body(const ert_op *op, int lvl)
{
    (void)lvl;
    ert_pool_walk(op, max_init, max_tap, max_out);
}

ERT_VARIANTS(ert_max_pool_2d_run, maxpool_body)
