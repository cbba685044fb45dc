/* LOOKUP: a fused chain of per-element int8 ops as one pack-time table (passes: fuse_lookup_chain).
 * y[i] = table[x[i] + 128]; prm and p: ert_table.h. */
#include "ert_table.h"

ERT_TABLE_OP(lookup)
