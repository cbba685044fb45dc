/* SUB, int8 with numpy broadcasting: ADD (add.c) with the second rescaled input subtracted.
 * prm: ADD's 12 params, then the broadcast plan; p: a b, b b, y o. */
#include "ert_elem.h"

int ert_sub_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np < 13 || !ert_add_params_ok(p) || !ert_int8_ok(p[10]) || !ert_int8_ok(p[11])) return -1;
    int64_t n, ea, eb;
    if (ert_bcast_check(p + 12, np - 12, &n, &ea, &eb) != np - 12) return -1;
    e[0] = ea; e[1] = eb; e[2] = n;
    return 0;
}

ERT_INLINE int8_t sub_one(const int32_t *a, int32_t x1, int32_t x2)
{
    int32_t v1 = ert_mbqm((x1 + a[0]) * (1 << a[2]), a[3], a[4]);
    int32_t v2 = ert_mbqm((x2 + a[1]) * (1 << a[2]), a[5], a[6]);
    return (int8_t)ert_clamp(ert_mbqm(v1 - v2, a[8], a[9]) + a[7], a[10], a[11]);
}

ERT_INLINE void sub_body(const ert_op *op, int lvl)
{
    (void)lvl;
    ert_bcast_walk(op->prm + 12, (const int8_t *)op->p[0], (const int8_t *)op->p[1], (int8_t *)op->p[2],
                   op->prm, sub_one);
}

ERT_VARIANTS(ert_sub_run, sub_body)
