/* TANH: TFLite Micro's integer tanh tabulated at pack time (compiler/prepare/tanh.py).
 * y[i] = table[x[i] + 128]; prm and p: ert_table.h. */
#include "ert_table.h"

ERT_TABLE_OP(tanh)
