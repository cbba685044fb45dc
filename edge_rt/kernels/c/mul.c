/* MUL, int8 with numpy broadcasting (TFLite Micro's reference):
 * y = clamp(mbqm((x1 + off1) * (x2 + off2), mult, shift) + out_off, lo, hi).
 * prm: off1, off2, out_off, mult, shift, lo, hi (compiler/prepare/mul.py), then the broadcast
 * plan; p: a b, b b, y o. In place as ADD (add.c). */
#include "ert_elem.h"

int ert_mul_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np < 8 || p[0] < -255 || p[0] > 255 || p[1] < -255 || p[1] > 255 || p[2] < -255 || p[2] > 255 ||
        p[3] < 0 || p[4] < -31 || p[4] > 30 || !ert_int8_ok(p[5]) || !ert_int8_ok(p[6]))
        return -1;
    int64_t n, ea, eb;
    if (ert_bcast_check(p + 7, np - 7, &n, &ea, &eb) != np - 7) return -1;
    e[0] = ea; e[1] = eb; e[2] = n;
    return 0;
}

ERT_INLINE int8_t mul_one(const int32_t *a, int32_t x1, int32_t x2)
{
    /* |product| < 2^16; the left shift wraps as the reference's int32 arithmetic (ert_mbqm) */
    return ert_add_clamp8(ert_mbqm((x1 + a[0]) * (x2 + a[1]), a[3], a[4]), a[2], a[5], a[6]);
}

ERT_INLINE void mul_body(const ert_op *op, int lvl)
{
    (void)lvl;
    ert_bcast_walk(op->prm + 7, (const int8_t *)op->p[0], (const int8_t *)op->p[1], (int8_t *)op->p[2],
                   op->prm, mul_one);
}

ERT_VARIANTS(ert_mul_run, mul_body)
