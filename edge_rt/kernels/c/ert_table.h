/* The one-byte-in, one-byte-out ops read through a 256-entry int8 table indexed by x + 128
 * (logistic.c, tanh.c, hard_swish.c, lookup.c: the pack-time tables of compiler/prepare).
 * prm: n; p: x b, table[256] b, y o (y may lie over x: in place). */
#ifndef ERT_TABLE_H
#define ERT_TABLE_H

#include "ert_elem.h"

static inline int ert_table_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != 1 || p[0] < 0 || p[0] > ERT_MAX_DIM) return -1;
    e[0] = p[0]; e[1] = 256; e[2] = p[0];
    return 0;
}

ERT_INLINE void ert_table_body(const ert_op *op, int lvl)
{
    int32_t n = op->prm[0];
    const int8_t *x = (const int8_t *)op->p[0], *t = (const int8_t *)op->p[1];
    int8_t *y = (int8_t *)op->p[2];
    (void)lvl;
    for (int32_t i = 0; i < n; i++) y[i] = t[x[i] + 128];
}

#define ERT_TABLE_OP(op)                                                                     \
    int ert_##op##_extents(const int32_t *p, int32_t np, int64_t *e) { return ert_table_extents(p, np, e); } \
    ERT_VARIANTS(ert_##op##_run, ert_table_body)

#endif
