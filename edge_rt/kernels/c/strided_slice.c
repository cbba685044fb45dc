/* STRIDED_SLICE (int8 and the wider types, as bytes): the output is the row-major walk over
 * five axes, axis a visiting start_a, start_a + stride_a, ... (count_a indices; stride may be
 * negative). prm: esize, dims[5], then (start, stride, count) per axis
 * (compiler/prepare/strided_slice.py); p: x b, y o. */
#include "ert_elem.h"

#define R 5

int ert_strided_slice_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != 1 + 4 * R || (p[0] != 1 && p[0] != 2 && p[0] != 4)) return -1;
    int64_t nx = 1, ny = 1;
    for (int32_t a = 0; a < R; a++) {
        int64_t d = p[1 + a], s = p[1 + R + 3 * a], st = p[2 + R + 3 * a], n = p[3 + R + 3 * a];
        if (!ERT_DIM_OK(d) || st == 0 || n < 0 || n > ERT_MAX_DIM) return -1;
        /* the first and the last visited index lie inside the axis (int64: |stride| < 2^31, n <= 2^24) */
        if (n > 0 && (s < 0 || s >= d || s + (n - 1) * st < 0 || s + (n - 1) * st >= d)) return -1;
        nx *= d;
        ny *= n;
        if (nx > ERT_MAX_DIM || ny > ERT_MAX_DIM) return -1;
    }
    e[0] = nx * p[0];
    e[1] = ny * p[0];
    return 0;
}

ERT_INLINE void strided_slice_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t es = p[0];
    const unsigned char *x = (const unsigned char *)op->p[0];
    unsigned char *y = (unsigned char *)op->p[1];
    int64_t xs[R], st[R], n[R], base = 0;
    int32_t idx[R];
    (void)lvl;
    xs[R - 1] = es;
    for (int32_t a = R - 1; a > 0; a--) xs[a - 1] = xs[a] * p[1 + a];  /* byte strides of x */
    for (int32_t a = 0; a < R; a++) {
        n[a] = p[3 + R + 3 * a];
        if (n[a] == 0) return;  /* an empty slice touches nothing */
        st[a] = p[2 + R + 3 * a] * xs[a];
        base += p[1 + R + 3 * a] * xs[a];
        idx[a] = 0;
    }
    int64_t rows = n[0] * n[1] * n[2] * n[3], inner = n[R - 1];
    int contiguous = p[2 + R + 3 * (R - 1)] == 1;
    for (int64_t k = 0; k < rows; k++) {
        int64_t o = base;
        for (int32_t a = 0; a < R - 1; a++) o += idx[a] * st[a];
        if (contiguous) {
            ert_copy(y, x + o, inner * es);  /* overlap-safe: a crafted file may overlap x and y */
            y += inner * es;
        } else if (es == 1) {
            for (int64_t i = 0; i < inner; i++) *y++ = x[o + i * st[R - 1]];
        } else {
            for (int64_t i = 0; i < inner; i++, y += es) ert_copy(y, x + o + i * st[R - 1], es);
        }
        for (int32_t a = R - 2; a >= 0; a--) {
            if (++idx[a] < n[a]) break;
            idx[a] = 0;
        }
    }
}

ERT_VARIANTS(ert_strided_slice_run, strided_slice_body)
