/* SPLIT (int8 and the wider types, as bytes): CONCATENATION read backwards. The input is
 * `outer` blocks of in_chunk elements; output j takes, from each block, chunk_j elements after
 * those of outputs 0..j-1. prm: esize, outer, in_chunk, chunk_0..chunk_{n-1} (1 <= n <= 15,
 * the chunks sum to in_chunk: compiler/prepare/split.py); p: x b, y_0..y_14 o (unused ones
 * have no extent). SPLIT_V (split_v.c) runs the same copy. */
#include "ert_elem.h"

#define MAXOUT 15

int ert_split_extents(const int32_t *p, int32_t np, int64_t *e)
{
    int32_t n = np - 3;
    if (n < 1 || n > MAXOUT || (p[0] != 1 && p[0] != 2 && p[0] != 4) || p[1] < 0 || p[1] > ERT_MAX_DIM ||
        p[2] < 0 || p[2] > ERT_MAX_DIM)
        return -1;
    int64_t total = 0;
    for (int32_t j = 0; j < MAXOUT; j++) e[1 + j] = 0;
    for (int32_t j = 0; j < n; j++) {
        if (p[3 + j] < 0 || p[3 + j] > ERT_MAX_DIM) return -1;
        total += p[3 + j];
        e[1 + j] = (int64_t)p[1] * p[3 + j] * p[0];
        if (e[1 + j] > 4 * (int64_t)ERT_MAX_DIM) return -1;
    }
    /* the outputs read exactly each input block: no byte past it, none left unread */
    if (total != p[2]) return -1;
    e[0] = (int64_t)p[1] * p[2] * p[0];
    if (e[0] > 4 * (int64_t)ERT_MAX_DIM) return -1;
    return 0;
}

ERT_INLINE void split_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t es = p[0], outer = p[1], n = op->nprm - 3;
    const unsigned char *x = (const unsigned char *)op->p[0];
    (void)lvl;
    for (int32_t b = 0; b < outer; b++)
        for (int32_t j = 0; j < n; j++) {
            int64_t c = (int64_t)p[3 + j] * es;
            ert_copy((unsigned char *)op->p[1 + j] + b * c, x, c);  /* overlap-safe (crafted files) */
            x += c;
        }
}

ERT_VARIANTS(ert_split_run, split_body)
