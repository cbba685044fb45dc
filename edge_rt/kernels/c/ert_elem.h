/* Shared helpers of the element-wise, pooling and data-movement kernels (pools, add/sub/mul,
 * softmax, mean, pad, concatenation, table ops, quantize, reshape): fixed-point steps valid
 * over every parameter value the packer can produce (so the validator never refuses a file
 * the other sets run), the broadcast walk, and an overlap-safe byte copy. */
#ifndef ERT_ELEM_H
#define ERT_ELEM_H

#include <string.h>
#include "ert_copy.h"
#include "ert_fixedpoint.h"
#include "ert_simd.h"

/* SaturatingRoundingDoublingHighMul including its one saturating case. */
static inline int32_t ert_srdhm_sat(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    return ert_srdhm(a, b);
}

/* RoundingDivideByPOT of an int32 for 0 <= e <= 62, in 64-bit: the reference's arithmetic on
 * unbounded integers (e > 31 occurs in SOFTMAX's rescale of a huge row sum). */
static inline int32_t ert_rdbpot_wide(int32_t x, int32_t e)
{
    int64_t v = x, mask = (int64_t)(((uint64_t)1 << e) - 1u);
    int64_t rem = v & mask, thr = (mask >> 1) + (v < 0);
    return (int32_t)((v >> e) + (rem > thr));
}

/* MultiplyByQuantizedMultiplier for any shift >= -31: a left shift of 32 or more
 * wraps every bit out (0), as the reference's int32 multiply by 2^shift. */
static inline int32_t ert_mbqm_wide(int32_t x, int32_t m, int32_t shift)
{
    if (shift > 0) {
        uint32_t u = shift >= 32 ? 0u : (uint32_t)x << shift;
        return ert_srdhm_sat((int32_t)u, m);
    }
    return ert_rdbpot_wide(ert_srdhm_sat(x, m), -shift);
}

/* Broadcast plan (kernels/broadcast.py) at p: ndim, dims[ndim], sa[ndim], sb[ndim]. Checks it
 * and gives the element counts of the output and the extents (in elements) of both inputs;
 * returns the number of params it spans, or -1. */
static inline int ert_bcast_check(const int32_t *p, int32_t avail, int64_t *n_out, int64_t *ea, int64_t *eb)
{
    if (avail < 1) return -1;
    int32_t nd = p[0];
    if (nd < 1 || nd > 8 || avail < 1 + 3 * nd) return -1;
    int64_t n = 1, a = 1, b = 1;
    for (int32_t d = 0; d < nd; d++) {
        int64_t s = p[1 + d], sa = p[1 + nd + d], sb = p[1 + 2 * nd + d];
        if (!ERT_DIM_OK(s) || sa < 0 || sa > ERT_MAX_DIM || sb < 0 || sb > ERT_MAX_DIM) return -1;
        n *= s;
        a += (s - 1) * sa;
        b += (s - 1) * sb;
        if (n > ERT_MAX_DIM || a > ERT_MAX_DIM || b > ERT_MAX_DIM) return -1;
    }
    *n_out = n; *ea = a; *eb = b;
    return 1 + 3 * nd;
}


/* y[i] = fn(prm, a[ia], b[ib]) over the output in row-major order, ia/ib from the broadcast
 * plan at plan (checked by ert_bcast_check): an odometer over the outer axes, a strided run
 * along the innermost one (unit strides: a plain loop the compiler vectorizes). fn is a
 * constant at every call site, so it is inlined. */
typedef int8_t (*ert_elem_fn)(const int32_t *prm, int32_t x1, int32_t x2);

ERT_INLINE void ert_bcast_walk(const int32_t *plan, const int8_t *a, const int8_t *b, int8_t *y,
                               const int32_t *prm, ert_elem_fn fn)
{
    int32_t nd = plan[0];
    const int32_t *dims = plan + 1, *sa = plan + 1 + nd, *sb = plan + 1 + 2 * nd;
    int32_t inner = dims[nd - 1], ia_step = sa[nd - 1], ib_step = sb[nd - 1];
    int32_t idx[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t ia = 0, ib = 0, yo = 0;
    for (;;) {
        if (ia_step == 1 && ib_step == 1) {
            for (int32_t i = 0; i < inner; i++) y[yo + i] = fn(prm, a[ia + i], b[ib + i]);
        } else if (ia_step == 1 && ib_step == 0) {
            int32_t v = b[ib];
            for (int32_t i = 0; i < inner; i++) y[yo + i] = fn(prm, a[ia + i], v);
        } else if (ia_step == 0 && ib_step == 1) {
            int32_t v = a[ia];
            for (int32_t i = 0; i < inner; i++) y[yo + i] = fn(prm, v, b[ib + i]);
        } else {
            for (int32_t i = 0; i < inner; i++)
                y[yo + i] = fn(prm, a[ia + (int64_t)i * ia_step], b[ib + (int64_t)i * ib_step]);
        }
        yo += inner;
        int32_t d = nd - 2;
        for (; d >= 0; d--) {   /* next outer coordinate: the walk of run_binary */
            ia += sa[d];
            ib += sb[d];
            if (++idx[d] < dims[d]) break;
            ia -= (int64_t)sa[d] * dims[d];
            ib -= (int64_t)sb[d] * dims[d];
            idx[d] = 0;
        }
        if (d < 0) return;
    }
}

/* clamp(v + off) to int8 without int32 overflow (the reference adds unbounded integers) */
static inline int8_t ert_add_clamp8(int32_t v, int32_t off, int32_t lo, int32_t hi)
{
    int64_t r = (int64_t)v + off;
    return (int8_t)(r < lo ? lo : (r > hi ? hi : r));
}

static inline int ert_int8_ok(int32_t v) { return v >= -128 && v <= 127; }

#endif
