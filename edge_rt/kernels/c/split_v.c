/* SPLIT_V: SPLIT's copy (split.c) with the part sizes given, not equal; the packer resolves
 * them to the same params, so the same validation and copy run.
 * prm: esize, outer, in_chunk, chunks[n];  p: x b, y_0..y_14 o. */
#include "ert_kernels.h"

int ert_split_v_extents(const int32_t *p, int32_t np, int64_t *e)
{
    return ert_split_extents(p, np, e);
}

void ert_split_v_run(const ert_op *op, const ert_ctx *ctx)
{
    ert_split_run(op, ctx);
}
