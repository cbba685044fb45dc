/* MEAN, int8 (TFLite Micro's QuantizedMeanOrSum, compiler/prepare/mean.py): the input viewed
 * as merged dims, each kept or reduced; per output (row-major over the kept dims) the raw
 * values over every reduced position are summed, then
 * out = clamp(mbqm(sum + offset, mult, shift) + out_zp, -128, 127).
 * prm: mult, shift, out_zp, offset, nd, dims[nd], flags[nd]; p: x b, y o. */
#include "ert_elem.h"

#define MAXD 8

int ert_mean_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np < 5) return -1;
    int32_t nd = p[4];
    if (nd < 1 || nd > MAXD || np != 5 + 2 * nd || p[0] < 0 || p[1] < -31 || !ert_int8_ok(p[2]))
        return -1;
    int64_t nx = 1, ny = 1;
    for (int32_t d = 0; d < nd; d++) {
        int32_t s = p[5 + d], f = p[5 + nd + d];
        if (!ERT_DIM_OK(s) || (f != 0 && f != 1)) return -1;
        nx *= s;
        if (!f) ny *= s;
        if (nx > ERT_MAX_DIM) return -1;
    }
    e[0] = nx; e[1] = ny;
    return 0;
}

ERT_INLINE void mean_body(const ert_op *op, int lvl)
{
    const int32_t *p = op->prm;
    int32_t mult = p[0], shift = p[1], out_zp = p[2], offset = p[3], nd = p[4];
    const int32_t *dims = p + 5, *flags = p + 5 + nd;
    const int8_t *x = (const int8_t *)op->p[0];
    int8_t *y = (int8_t *)op->p[1];
    /* kept and reduced axes, innermost first, with their input strides */
    int32_t ks[MAXD], kst[MAXD], rs[MAXD], rst[MAXD], ki[MAXD], ri[MAXD], nk = 0, nr = 0;
    int64_t stride = 1, n_out = 1;
    (void)lvl;
    for (int32_t d = nd - 1; d >= 0; d--) {
        if (flags[d]) { rs[nr] = dims[d]; rst[nr] = (int32_t)stride; nr++; }
        else { ks[nk] = dims[d]; kst[nk] = (int32_t)stride; nk++; n_out *= dims[d]; }
        stride *= dims[d];
    }
    for (int32_t k = 0; k < nk; k++) ki[k] = 0;
    int64_t base = 0;
    for (int64_t o = 0; o < n_out; o++) {
        int64_t acc = offset;
        if (nr == 0) {
            acc += x[base];
        } else {
            for (int32_t k = 0; k < nr; k++) ri[k] = 0;
            int64_t off = base;
            for (;;) {
                int32_t s0 = rs[0], st0 = rst[0], a = 0;
                for (int32_t i = 0; i < s0; i++) a += x[off + (int64_t)i * st0];
                acc += a;
                int32_t k = 1;
                for (; k < nr; k++) {
                    off += rst[k];
                    if (++ri[k] < rs[k]) break;
                    off -= (int64_t)rst[k] * rs[k];
                    ri[k] = 0;
                }
                if (k >= nr) break;
            }
        }
        /* the reference's int32 sum */
        y[o] = ert_add_clamp8(ert_mbqm_wide((int32_t)(uint32_t)(uint64_t)acc, mult, shift), out_zp, -128, 127);
        for (int32_t k = 0; k < nk; k++) {   /* next kept coordinate */
            base += kst[k];
            if (++ki[k] < ks[k]) break;
            base -= (int64_t)kst[k] * ks[k];
            ki[k] = 0;
        }
    }
}

ERT_VARIANTS(ert_mean_run, mean_body)
