/* PAD (int8 and the wider types TFLite Micro pads, as bytes): every output element gets the
 * pad value, then each innermost input row is copied to its place (index + before per dim).
 * prm: esize, rank, xs[rank], before[rank], after[rank]; p: x b, pad_value[esize] b, y o.
 * rank 0 (a scalar) is a one-element copy. */
#include "ert_elem.h"

#define MAXR 8

int ert_pad_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np < 2) return -1;
    int32_t es = p[0], r = p[1];
    if ((es != 1 && es != 2 && es != 4) || r < 0 || r > MAXR || np != 2 + 3 * r) return -1;
    int64_t nx = 1, ny = 1;
    for (int32_t d = 0; d < r; d++) {
        int64_t s = p[2 + d], b = p[2 + r + d], a = p[2 + 2 * r + d];
        if (!ERT_DIM_OK(s) || b < 0 || a < 0 || b > ERT_MAX_DIM || a > ERT_MAX_DIM) return -1;
        nx *= s;
        ny *= s + b + a;
        if (nx > ERT_MAX_DIM || ny > ERT_MAX_DIM) return -1;
    }
    e[0] = nx * es; e[1] = es; e[2] = ny * es;
    return 0;
}

ERT_INLINE void pad_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t es = p[0], r = p[1];
    const int32_t *xs = p + 2, *bf = p + 2 + r, *af = p + 2 + 2 * r;
    const unsigned char *x = (const unsigned char *)op->p[0], *pv = (const unsigned char *)op->p[1];
    unsigned char *y = (unsigned char *)op->p[2];
    int64_t ys[MAXR], ny = 1, nrows = 1;
    int32_t idx[MAXR];
    (void)lvl;
    for (int32_t d = 0; d < r; d++) {
        ys[d] = (int64_t)xs[d] + bf[d] + af[d];
        ny *= ys[d];
        idx[d] = 0;
        if (d < r - 1) nrows *= xs[d];
    }
    if (es == 1) {
        memset(y, pv[0], (size_t)ny);
    } else {
        for (int64_t i = 0; i < ny; i++) memcpy(y + i * es, pv, (size_t)es);
    }
    if (r == 0) {
        ert_copy(y, x, es);
        return;
    }
    int64_t row = (int64_t)xs[r - 1] * es;
    for (int64_t k = 0; k < nrows; k++) {
        int64_t yo = 0;
        for (int32_t d = 0; d < r - 1; d++) yo = (yo + idx[d] + bf[d]) * ys[d + 1];
        yo += bf[r - 1];
        ert_copy(y + yo * es, x + k * row, row);
        for (int32_t d = r - 2; d >= 0; d--) {
            if (++idx[d] < xs[d]) break;
            idx[d] = 0;
        }
    }
}

ERT_VARIANTS(ert_pad_run, pad_body)
