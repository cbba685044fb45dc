/* ADD, int8 with numpy broadcasting (TFLite Micro's reference): each input offset, shifted
 * left and rescaled to a common scale, the two summed and rescaled to the output.
 * prm: ADD's 12 params (compiler/prepare/add.py), then the broadcast plan; p: a b, b b, y o.
 * The output may lie over an input of its own size (in place): element i is read before it
 * is written, and nothing later reads it. */
#include "ert_elem.h"

int ert_add_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np < 13 || !ert_add_params_ok(p) || !ert_int8_ok(p[10]) || !ert_int8_ok(p[11])) return -1;
    int64_t n, ea, eb;
    if (ert_bcast_check(p + 12, np - 12, &n, &ea, &eb) != np - 12) return -1;
    e[0] = ea; e[1] = eb; e[2] = n;
    return 0;
}

ERT_INLINE int8_t add_one(const int32_t *a, int32_t x1, int32_t x2)
{
    return ert_add_one(a, x1, x2);
}

ERT_INLINE void add_body(const ert_op *op, int lvl)
{
    (void)lvl;
    ert_bcast_walk(op->prm + 12, (const int8_t *)op->p[0], (const int8_t *)op->p[1], (int8_t *)op->p[2],
                   op->prm, add_one);
}

ERT_VARIANTS(ert_add_run, add_body)
