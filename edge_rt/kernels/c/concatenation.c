/* CONCATENATION (int8 and the wider types, as bytes): the output is `outer` blocks, block b
 * holding chunk_0 elements of input 0's block b, then chunk_1 of input 1, ...
 * prm: esize, outer, chunk_0..chunk_{n-1} (1 <= n <= 10); p: x_0..x_9 b (unused ones have no
 * extent), y o. */
#include "ert_elem.h"

#define MAXIN 10

int ert_concatenation_extents(const int32_t *p, int32_t np, int64_t *e)
{
    int32_t n = np - 2;
    if (n < 1 || n > MAXIN || (p[0] != 1 && p[0] != 2 && p[0] != 4) || p[1] < 0 || p[1] > ERT_MAX_DIM)
        return -1;
    int64_t total = 0;
    for (int32_t j = 0; j < MAXIN; j++) e[j] = 0;
    for (int32_t j = 0; j < n; j++) {
        if (p[2 + j] < 0 || p[2 + j] > ERT_MAX_DIM) return -1;
        total += p[2 + j];
        e[j] = (int64_t)p[1] * p[2 + j] * p[0];
        if (e[j] > 4 * (int64_t)ERT_MAX_DIM) return -1;
    }
    e[MAXIN] = (int64_t)p[1] * total * p[0];
    if (e[MAXIN] > 4 * (int64_t)ERT_MAX_DIM) return -1;
    return 0;
}

ERT_INLINE void concatenation_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t es = p[0], outer = p[1], n = op->nprm - 2;
    unsigned char *y = (unsigned char *)op->p[MAXIN];
    (void)lvl;
    for (int32_t b = 0; b < outer; b++)
        for (int32_t j = 0; j < n; j++) {
            int64_t c = (int64_t)p[2 + j] * es;
            ert_copy(y, (const unsigned char *)op->p[j] + b * c, c);
            y += c;
        }
}

ERT_VARIANTS(ert_concatenation_run, concatenation_body)
