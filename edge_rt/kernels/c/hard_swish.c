/* HARD_SWISH: TFLite Micro's int16 hard swish tabulated at pack time (compiler/prepare/hard_swish.py).
 * y[i] = table[x[i] + 128]; prm and p: ert_table.h. */
#include "ert_table.h"

ERT_TABLE_OP(hard_swish)
