/* LOGISTIC: TFLite Micro's integer logistic tabulated at pack time (compiler/prepare/logistic.py).
 * y[i] = table[x[i] + 128]; prm and p: ert_table.h. */
#include "ert_table.h"

ERT_TABLE_OP(logistic)
