/* Rows x weights products of the weighted ops: acc[p][o] = bias[o] + sum_k x_p[k] * w[o][k] for
 * P input rows (pixels' patches, FC batch rows, a DS_CONV_2D band's pixels).
 *
 * AVX-512 VNNI path (vpdpbusd: four u8 x s8 products summed per int32 lane): the weights come
 * packed at pack time as [ceil(oc/16)][ceil(K/4)][16][4] int8 (zero padded), so one 64-byte load
 * holds 16 output channels x 4 taps; each row's 4 input bytes are broadcast and biased to u8
 * (x ^ 0x80 = x + 128), and wsum[o] = 128 * sum_k w[o][k] (pack time) takes the bias back off:
 * exact in int32 (|128 * sum| < 2^31 under ERT_MAX_DOT). A tile is 4 rows x 64 channels in 16
 * accumulators, no horizontal sums. Other paths: dot products of each row with the original
 * [oc][K] weights (ert_dotn). */
#ifndef ERT_GEMM_H
#define ERT_GEMM_H

#include "ert_simd.h"

/* The output stage of a product: requantize, clamp [, ADD with the skip row], store int8. */
typedef struct {
    const int32_t *bias, *wsum, *mult, *shift;
    int32_t off, lo, hi;
    const int32_t *add;     /* ADD's 12 params, or NULL */
    int first;              /* the product feeds ADD's first input */
    int8_t *const *yr;      /* output row of each input row */
    const int8_t *const *sr; /* skip row of each input row (ADD only) */
} ert_epi;

/* The output stage of one int32 sum r of input row p, channel c (the scalar paths): the bias added
 * with int32 wrap-around as in the reference (unsigned add: no signed overflow in C), then the
 * requantization, clamp and, for the residual ops, the ADD with the skip row. */
static inline int8_t ert_epi_one(const ert_epi *e, int32_t p, int32_t c, int32_t r)
{
    int32_t v = (int32_t)((uint32_t)e->bias[c] + (uint32_t)r);
    v = ert_clamp(ert_mbqm(v, e->mult[c], e->shift[c]) + e->off, e->lo, e->hi);
    if (e->add) {
        int32_t s = e->sr[p][c];
        return e->first ? ert_add_one(e->add, v, s) : ert_add_one(e->add, s, v);
    }
    return (int8_t)v;
}

#if ERT_X86
ERT_VNNI_INLINE __m512i ert_bcast4(const int8_t *x, int32_t k, int32_t kq, int32_t kfull)
{
    uint32_t v = 0;
    if (kq < kfull)
        memcpy(&v, x + kq * 4, 4);
    else
        memcpy(&v, x + kq * 4, (size_t)(k - kq * 4)); /* the last, partial group: only K bytes read */
    return _mm512_set1_epi32((int32_t)(v ^ 0x80808080u));
}

/* Rows the kernel built itself (patches, the DS band): already biased to u8 (x ^ 0x80) and
 * readable up to a multiple of 4 bytes (the bytes past K meet zero weights). */
ERT_VNNI_INLINE __m512i ert_bcast4_biased(const int8_t *x, int32_t k, int32_t kq, int32_t kfull)
{
    int32_t v;
    (void)k; (void)kfull;
    memcpy(&v, x + kq * 4, 4);
    return _mm512_set1_epi32(v);
}

/* A tile of P rows x B channel blocks of 16 (P * B = 16 accumulators, the weights loaded once
 * per 4 taps for all P rows); blocks past the last repeat it (their results are not stored).
 * P=4,B=4 for 64 channels or more, P=8,B=2 for 17-32, P=16,B=1 for up to 16. */
#define ERT_GEMM_TILE(P, B, V, BCAST)                                                                \
    ERT_VNNI_INLINE void ert_gemm_tile_##P##x##B##V(const int8_t *const *xr, int32_t k,       \
                                                          const int8_t *wp, int32_t ocb, int32_t ob0,   \
                                                          __m512i a[P][B])                              \
    {                                                                                                 \
        int32_t k4 = (k + 3) / 4, kfull = k / 4;                                                      \
        const int8_t *wb[B];                                                                          \
        for (int b = 0; b < B; b++) {                                                                 \
            int32_t ob = ob0 + b < ocb ? ob0 + b : ocb - 1;                                           \
            wb[b] = wp + (int64_t)ob * k4 * 64;                                                       \
            for (int p = 0; p < P; p++)                                                               \
                a[p][b] = _mm512_setzero_si512();                                                     \
        }                                                                                             \
        for (int32_t kq = 0; kq < k4; kq++) {                                                         \
            __m512i w[B];                                                                             \
            for (int b = 0; b < B; b++)                                                               \
                w[b] = _mm512_loadu_si512(wb[b] + kq * 64);                                           \
            for (int p = 0; p < P; p++) {                                                             \
                __m512i xv = BCAST(xr[p], k, kq, kfull);                                              \
                for (int b = 0; b < B; b++)                                                           \
                    a[p][b] = _mm512_dpbusd_epi32(a[p][b], xv, w[b]);                                 \
            }                                                                                         \
        }                                                                                             \
    }
ERT_GEMM_TILE(4, 4, , ert_bcast4)
ERT_GEMM_TILE(8, 2, , ert_bcast4)
ERT_GEMM_TILE(16, 1, , ert_bcast4)
ERT_GEMM_TILE(1, 4, , ert_bcast4)

/* The same on rows the kernel built itself (biased, ert_bcast4_biased), in nseg segments of gps
 * 4-byte groups, segment s at xr[p] + s * rs: a patch is one segment (gps = ceil(K/4)); a
 * convolution reading its biased input window in place has one segment per filter row (the
 * kw*ic bytes of that row are contiguous there, kw*ic a multiple of 4). */
#define ERT_GEMM_TILE_SEG(P, B)                                                                      \
    ERT_VNNI_INLINE void ert_gemm_tile_##P##x##B##s(const int8_t *const *xr, int32_t nseg, int32_t gps, \
                                                    int64_t rs, const int8_t *wp, int32_t ocb,          \
                                                    int32_t ob0, __m512i a[P][B])                       \
    {                                                                                                 \
        int32_t k4 = nseg * gps;                                                                      \
        const int8_t *wb[B];                                                                          \
        for (int b = 0; b < B; b++) {                                                                 \
            int32_t ob = ob0 + b < ocb ? ob0 + b : ocb - 1;                                           \
            wb[b] = wp + (int64_t)ob * k4 * 64;                                                       \
            for (int p = 0; p < P; p++)                                                               \
                a[p][b] = _mm512_setzero_si512();                                                     \
        }                                                                                             \
        for (int32_t sg = 0; sg < nseg; sg++) {                                                       \
            const int8_t *xs[P];                                                                      \
            for (int p = 0; p < P; p++)                                                               \
                xs[p] = xr[p] + sg * rs;                                                              \
            for (int32_t j = 0; j < gps; j++) {                                                       \
                __m512i w[B];                                                                         \
                for (int b = 0; b < B; b++)                                                           \
                    w[b] = _mm512_loadu_si512(wb[b] + (int64_t)(sg * gps + j) * 64);                  \
                for (int p = 0; p < P; p++) {                                                         \
                    __m512i xv = ert_bcast4_biased(xs[p], 0, j, 0);                                   \
                    for (int b = 0; b < B; b++)                                                       \
                        a[p][b] = _mm512_dpbusd_epi32(a[p][b], xv, w[b]);                             \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
    }
ERT_GEMM_TILE_SEG(4, 4)
ERT_GEMM_TILE_SEG(8, 2)
ERT_GEMM_TILE_SEG(16, 1)
ERT_GEMM_TILE_SEG(1, 4)

/* The output stage fused into the product (VNNI path): requantization (TFLite's double rounding,
 * 16 lanes: 64-bit products of even and odd lanes, the nudge, truncation by 2^31, then the
 * rounding shift), the clamp, and for the residual ops the ADD with the skip row. */

/* SaturatingRoundingDoublingHighMul on 16 lanes. TFLite computes trunc((p + nudge) / 2^31) with
 * nudge = 2^30 for p >= 0 and 1 - 2^30 for p < 0; for p < 0 that numerator is negative, so the
 * truncation is floor((p + 1 - 2^30 + 2^31 - 1) / 2^31) = floor((p + 2^30) / 2^31), the same
 * expression as for p >= 0: one add and the bits [31, 62] of each 64-bit product. (The saturating
 * case, both operands INT32_MIN, cannot occur: multipliers are >= 0, checked at bind.) */
ERT_VNNI_INLINE __m512i ert_srdhm16(__m512i x, __m512i m)
{
    const __m512i half = _mm512_set1_epi64((int64_t)1 << 30);
    __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(x, m), half);
    __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(m, 32)), half);
    /* even lanes: the low dword of pe >> 31; odd lanes: the high dword of po << 1 */
    return _mm512_mask_blend_epi32((__mmask16)0xAAAA, _mm512_srli_epi64(pe, 31), _mm512_slli_epi64(po, 1));
}

ERT_VNNI_INLINE __m512i ert_rdbpot16(__m512i x, __m512i e)
{
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, e), one);
    __m512i rem = _mm512_and_si512(x, mask);
    __m512i thr = _mm512_srai_epi32(mask, 1);
    thr = _mm512_mask_add_epi32(thr, _mm512_cmplt_epi32_mask(x, zero), thr, one);
    __m512i q = _mm512_srav_epi32(x, e);
    return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
}

/* ert_mbqm on 16 lanes, per-lane multiplier and shift */
ERT_VNNI_INLINE __m512i ert_mbqm16(__m512i x, __m512i m, __m512i sh)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i ls = _mm512_max_epi32(sh, zero), rs = _mm512_max_epi32(_mm512_sub_epi32(zero, sh), zero);
    return ert_rdbpot16(ert_srdhm16(_mm512_sllv_epi32(x, ls), m), rs);
}

ERT_VNNI_INLINE __m512i ert_clamp16(__m512i v, int32_t lo, int32_t hi)
{
    return _mm512_min_epi32(_mm512_max_epi32(v, _mm512_set1_epi32(lo)), _mm512_set1_epi32(hi));
}

/* int8 ADD (ert_add_one) on 16 lanes */
ERT_VNNI_INLINE __m512i ert_add16(const int32_t *a, __m512i x1, __m512i x2)
{
    __m512i ls = _mm512_set1_epi32(a[2]);
    __m512i v1 = ert_mbqm16(_mm512_sllv_epi32(_mm512_add_epi32(x1, _mm512_set1_epi32(a[0])), ls),
                            _mm512_set1_epi32(a[3]), _mm512_set1_epi32(a[4]));
    __m512i v2 = ert_mbqm16(_mm512_sllv_epi32(_mm512_add_epi32(x2, _mm512_set1_epi32(a[1])), ls),
                            _mm512_set1_epi32(a[5]), _mm512_set1_epi32(a[6]));
    __m512i r = ert_mbqm16(_mm512_add_epi32(v1, v2), _mm512_set1_epi32(a[8]), _mm512_set1_epi32(a[9]));
    return ert_clamp16(_mm512_add_epi32(r, _mm512_set1_epi32(a[7])), a[10], a[11]);
}

/* The per-channel constants of one channel block, loaded once for all rows of a tile: bias -
 * wsum (int32 wrap-around, the same sum in either order), the multiplier, the left shift, the
 * right shift, its remainder mask and the mask's half (ert_rdbpot16's threshold for x >= 0). */
typedef struct {
    __m512i bw, m, ls, rs, mask, half;
    __mmask16 k;
    int32_t o;
    int lsh; /* some lane shifts left (most models: none, and the vpsllvd is skipped) */
} ert_oq;

/* q's shift-derived constants from the per-lane shifts sh */
ERT_VNNI_INLINE void ert_oq_shifts(ert_oq *q, __m512i sh)
{
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    q->ls = _mm512_max_epi32(sh, zero);
    q->rs = _mm512_max_epi32(_mm512_sub_epi32(zero, sh), zero);
    q->mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, q->rs), one);
    q->half = _mm512_srai_epi32(q->mask, 1);
    q->lsh = _mm512_test_epi32_mask(q->ls, q->ls) != 0;
}

ERT_VNNI_INLINE void ert_oq_load(ert_oq *q, int32_t ob, int32_t oc, const ert_epi *e)
{
    int32_t o = ob * 16, n = oc - o;
    __mmask16 m = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
    q->k = m;
    q->o = o;
    q->bw = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, e->bias + o), _mm512_maskz_loadu_epi32(m, e->wsum + o));
    q->m = _mm512_maskz_loadu_epi32(m, e->mult + o);
    ert_oq_shifts(q, _mm512_maskz_loadu_epi32(m, e->shift + o));
}

/* accumulator v + q's bias, requantized (exactly ert_mbqm16) + off, not yet clamped */
ERT_VNNI_INLINE __m512i ert_oq_round(__m512i v, const ert_oq *q, int32_t off)
{
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    v = _mm512_add_epi32(v, q->bw);
    if (q->lsh) v = _mm512_sllv_epi32(v, q->ls);
    v = ert_srdhm16(v, q->m);
    __m512i rem = _mm512_and_si512(v, q->mask);
    __m512i thr = _mm512_mask_add_epi32(q->half, _mm512_cmplt_epi32_mask(v, zero), q->half, one);
    __m512i d = _mm512_srav_epi32(v, q->rs);
    v = _mm512_mask_add_epi32(d, _mm512_cmpgt_epi32_mask(rem, thr), d, one);
    return _mm512_add_epi32(v, _mm512_set1_epi32(off));
}

/* the same, clamped to [lo, hi] */
ERT_VNNI_INLINE __m512i ert_oq_requant(__m512i v, const ert_oq *q, int32_t off, int32_t lo, int32_t hi)
{
    return ert_clamp16(ert_oq_round(v, q, off), lo, hi);
}

/* the same as int8 lanes, x ^ 0x80 when biased (it feeds the VNNI product). The pack saturates
 * to int8, so the clamp is done only at a bound inside [-128, 127] (lo/hi outside it: the
 * general clamp and truncation, as the scalar path). */
ERT_VNNI_INLINE __m128i ert_oq_int8(__m512i v, const ert_oq *q, int32_t off, int32_t lo, int32_t hi, int biased)
{
    __m128i r;
    v = ert_oq_round(v, q, off);
    if (lo >= -128 && hi <= 127) {
        if (lo > -128) v = _mm512_max_epi32(v, _mm512_set1_epi32(lo));
        if (hi < 127) v = _mm512_min_epi32(v, _mm512_set1_epi32(hi));
        r = _mm512_cvtsepi32_epi8(v);
    } else {
        r = _mm512_cvtepi32_epi8(ert_clamp16(v, lo, hi));
    }
    return biased ? _mm_xor_si128(r, _mm_set1_epi8((char)0x80)) : r;
}

/* accumulator v of row p in q's channel block: exactly ert_mbqm16 + clamp [+ ADD], stored int8 */
ERT_VNNI_INLINE void ert_oq_out(__m512i v, const ert_oq *q, const ert_epi *e, int32_t p)
{
    if (!e->add) {
        _mm_mask_storeu_epi8(e->yr[p] + q->o, q->k, ert_oq_int8(v, q, e->off, e->lo, e->hi, 0));
        return;
    }
    v = ert_oq_requant(v, q, e->off, e->lo, e->hi);
    __m512i s = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(q->k, e->sr[p] + q->o));
    v = e->first ? ert_add16(e->add, v, s) : ert_add16(e->add, s, v);
    _mm_mask_storeu_epi8(e->yr[p] + q->o, q->k, _mm512_cvtepi32_epi8(v));
}

/* channel block ob of row p: bias - wsum, requantize, clamp [, ADD], store the int8 lanes */
ERT_VNNI_INLINE void ert_gemm_out_vnni(__m512i v, int32_t ob, int32_t oc, const ert_epi *e, int32_t p)
{
    ert_oq q;
    ert_oq_load(&q, ob, oc, e);
    ert_oq_out(v, &q, e, p);
}

#define ERT_GEMM_PASS(P, B, V, ...)                                                                  \
    for (; p + P <= np; p += P)                                                                       \
        for (int32_t ob0 = 0; ob0 < ocb; ob0 += B) {                                                  \
            __m512i a[P][B];                                                                          \
            ert_gemm_tile_##P##x##B##V(xr + p, __VA_ARGS__, wp, ocb, ob0, a);                         \
            for (int b = 0; b < B && ob0 + b < ocb; b++) {                                            \
                ert_oq oq;                                                                            \
                ert_oq_load(&oq, ob0 + b, oc, e);                                                     \
                for (int q = 0; q < P; q++)                                                           \
                    ert_oq_out(a[q][b], &oq, e, p + q);                                               \
            }                                                                                         \
        }

/* np rows (any number) of the kernel's own biased rows in segments (ERT_GEMM_TILE_SEG). */
ERT_TGT_VNNI static inline void ert_gemm_vnni_seg(const int8_t *const *xr, int32_t np, int32_t nseg, int32_t gps,
                                                  int64_t rs, const int8_t *wp, int32_t oc, const ert_epi *e)
{
    int32_t ocb = (oc + 15) / 16, p = 0;
    if (ocb == 1) {
        ERT_GEMM_PASS(16, 1, s, nseg, gps, rs)
    } else if (ocb == 2) {
        ERT_GEMM_PASS(8, 2, s, nseg, gps, rs)
    }
    ERT_GEMM_PASS(4, 4, s, nseg, gps, rs)
    ERT_GEMM_PASS(1, 4, s, nseg, gps, rs)
}

/* np rows (any number); biased: the rows are the kernel's own (ert_bcast4_biased), else the
 * tensor's (ert_bcast4). Writes the int8 outputs through e (rows e->yr[0..np)). */
ERT_TGT_VNNI static inline void ert_gemm_vnni(const int8_t *const *xr, int32_t np, int32_t k, const int8_t *wp,
                                              int32_t oc, const ert_epi *e, int biased)
{
    int32_t ocb = (oc + 15) / 16, p = 0;
    if (biased) {
        ert_gemm_vnni_seg(xr, np, 1, (k + 3) / 4, 0, wp, oc, e);
        return;
    }
    if (ocb == 1) {
        ERT_GEMM_PASS(16, 1, , k)
    } else if (ocb == 2) {
        ERT_GEMM_PASS(8, 2, , k)
    }
    ERT_GEMM_PASS(4, 4, , k)
    ERT_GEMM_PASS(1, 4, , k)
}
#endif

/* The product for np rows xr[] and its output stage e: w is the [oc][k] weight matrix, wp/wsum
 * its VNNI packing. biased (VNNI only; ERT_BIASED(lvl)): the rows were built by the kernel as
 * x ^ 0x80, readable to a multiple of 4 bytes. Other paths: dot products of 4 channels at a time
 * into registers, then the scalar output stage (no scratch). */
#define ERT_BIASED(lvl) ((lvl) == ERT_LVL_VNNI)

ERT_INLINE void ert_gemm(int lvl, const int8_t *const *xr, int32_t np, int32_t k, const int8_t *w,
                         const int8_t *wp, int32_t oc, const ert_epi *e, int biased)
{
#if ERT_X86
    if (lvl == ERT_LVL_VNNI) {
        ert_gemm_vnni(xr, np, k, wp, oc, e, biased);
        return;
    }
#endif
    (void)biased; (void)wp;
    for (int32_t p = 0; p < np; p++) {
        int8_t *y = e->yr[p];
        for (int32_t o = 0; o < oc; o += 4) {
            int32_t n = oc - o < 4 ? oc - o : 4, r[4];
            if (n == 4)
                ert_dot4(lvl, xr[p], w + (int64_t)o * k, k, k, r);
            else
                for (int32_t q = 0; q < n; q++)
                    r[q] = ert_dot1(lvl, xr[p], w + (int64_t)(o + q) * k, k);
            for (int32_t q = 0; q < n; q++)
                y[o + q] = ert_epi_one(e, p, o + q, r[q]);
        }
    }
}

/* Rows a kernel hands ert_gemm at once (the VNNI tile height for oc channels): 16, 8 or 4. */
#define ERT_GEMM_ROWS(oc) ((oc) <= 16 ? 16 : ((oc) <= 32 ? 8 : 4))

/* Bytes of the VNNI packing of an [oc][k] weight matrix, and of its wsum. */
#define ERT_WP_BYTES(oc, k) ((int64_t)(((oc) + 15) / 16) * (((k) + 3) / 4) * 64)
#define ERT_WSUM_BYTES(oc) ((int64_t)(((oc) + 15) / 16) * 64)

#endif
