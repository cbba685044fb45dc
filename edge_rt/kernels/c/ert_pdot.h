/* FULLY_CONNECTED's product on every path, over the one copy of its weights a C pack holds: the
 * VNNI packing (ert_gemm.h: [ceil(n/16)][ceil(K/4)][16][4] int8, zero padded; a row-major GEMV
 * was measured slower on AVX-512: its horizontal sums cost more than this layout's broadcasts).
 * AVX-512 VNNI: batch 1 in the tiles below (ert_fc_vnni1), more rows in ert_gemm_vnni's. The
 * other paths compute one block of 16 output channels at a time (ert_pdot16: int32 sums, exact,
 * |sum| <= 2^30 under ERT_MAX_DOT), then the scalar output stage. No byte past K of x is read:
 * the last, partial group of 4 taps is copied into a zeroed group (its weights are zeros). */
#ifndef ERT_PDOT_H
#define ERT_PDOT_H

#include "ert_gemm.h"

/* x's 4 bytes of group kq as one int32 (zeros past k) */
ERT_INLINE int32_t ert_xq(const int8_t *x, int32_t k, int32_t kq)
{
    int32_t v = 0, nb = k - kq * 4;
    if (nb >= 4)
        memcpy(&v, x + kq * 4, 4); /* a constant size: one load, not a call */
    else
        for (int32_t t = 0; t < nb; t++)
            v |= (int32_t)((uint32_t)(uint8_t)x[kq * 4 + t] << (8 * t));
    return v;
}

ERT_INLINE void ert_pdot16_c(const int8_t *x, int32_t k, const int8_t *wb, int32_t nq, int32_t *acc)
{
    int32_t k4 = (k + 3) / 4;
    for (int j = 0; j < 16; j++)
        acc[j] = 0;
    for (int32_t kq = 0; kq < k4; kq++) {
        int32_t v = ert_xq(x, k, kq);
        int8_t xq[4];
        memcpy(xq, &v, 4);
        const int8_t *g = wb + (int64_t)kq * 64;
        for (int j = 0; j < 4 * nq; j++)
            acc[j] += xq[0] * g[4 * j] + xq[1] * g[4 * j + 1] + xq[2] * g[4 * j + 2] + xq[3] * g[4 * j + 3];
    }
}

#if ERT_X86
/* Each 16 bytes of a group (4 channels x 4 taps) sign-extended to int16 and multiplied by the 4
 * taps of x (repeated) in vpmaddwd: 8 int32 = 4 channels x 2 pair sums (exact: |pair| <= 2^15);
 * the pairs are added at the end (vphaddd, then the lanes put in channel order). */
ERT_TGT_AVX2 static inline __attribute__((always_inline)) void ert_pdot16_avx2_n(const int8_t *x, int32_t k,
                                                                                 const int8_t *wb, const int nq,
                                                                                 int32_t *acc)
{
    int32_t k4 = (k + 3) / 4;
    __m256i a[4];
    for (int q = 0; q < 4; q++)
        a[q] = _mm256_setzero_si256();
    int32_t kq = 0;
    /* 16 bytes of x (4 groups) widened at once, each group's 4 taps then broadcast from its 64-bit
     * lane: a narrow block (nq = 1, micro_speech's 4 outputs) would otherwise widen x per group */
#define ERT_PDOT_GROUP(J)                                                                            \
    do {                                                                                              \
        __m256i xv = _mm256_permute4x64_epi64(x16, 0x55 * (J));                                       \
        const int8_t *g = wb + (int64_t)(kq + (J)) * 64;                                             \
        for (int q = 0; q < nq; q++)                                                                  \
            a[q] = _mm256_add_epi32(a[q], _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(                  \
                                                                   _mm_loadu_si128((const __m128i *)(g + 16 * q))))); \
    } while (0)
    for (; kq + 4 <= k4 && (kq + 4) * 4 <= k; kq += 4) {
        __m256i x16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + 4 * kq)));
        ERT_PDOT_GROUP(0);
        ERT_PDOT_GROUP(1);
        ERT_PDOT_GROUP(2);
        ERT_PDOT_GROUP(3);
    }
#undef ERT_PDOT_GROUP
    for (; kq < k4; kq++) {
        __m256i xv = _mm256_cvtepi8_epi16(_mm_set1_epi32(ert_xq(x, k, kq)));
        const int8_t *g = wb + (int64_t)kq * 64;
        for (int q = 0; q < nq; q++)
            a[q] = _mm256_add_epi32(a[q], _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(
                                                                   _mm_loadu_si128((const __m128i *)(g + 16 * q)))));
    }
    const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    _mm256_storeu_si256((__m256i *)acc, _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(a[0], a[1]), order));
    _mm256_storeu_si256((__m256i *)(acc + 8), _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(a[2], a[3]), order));
}
#endif

#if ERT_ARM64
/* NEON: int8 x int8 products widened to int16 (vmull_s8), pairs accumulated to int32 (vpadalq_s16):
 * lanes [c t01, c t23, c+1 t01, c+1 t23], pairs added at the end (vpaddq_s32). */
static inline __attribute__((always_inline)) void ert_pdot16_neon_n(const int8_t *x, int32_t k, const int8_t *wb,
                                                                     const int nq, int32_t *acc)
{
    int32_t k4 = (k + 3) / 4;
    int32x4_t lo[4], hi[4];
    for (int q = 0; q < 4; q++)
        lo[q] = hi[q] = vdupq_n_s32(0);
    for (int32_t kq = 0; kq < k4; kq++) {
        int8x16_t xv = vreinterpretq_s8_s32(vdupq_n_s32(ert_xq(x, k, kq)));
        const int8_t *g = wb + (int64_t)kq * 64;
        for (int q = 0; q < nq; q++) {
            int8x16_t wv = vld1q_s8(g + 16 * q);
            lo[q] = vpadalq_s16(lo[q], vmull_s8(vget_low_s8(wv), vget_low_s8(xv)));
            hi[q] = vpadalq_s16(hi[q], vmull_high_s8(wv, xv));
        }
    }
    for (int q = 0; q < 4; q++)
        vst1q_s32(acc + 4 * q, vpaddq_s32(lo[q], hi[q]));
}

/* dot product (Pi 5): sdot sums each channel's 4 taps in its own lane, 4 channels per 16 bytes */
ERT_TGT_DOT static inline __attribute__((always_inline)) void ert_pdot16_dot_n(const int8_t *x, int32_t k,
                                                                               const int8_t *wb, const int nq,
                                                                               int32_t *acc)
{
    int32_t k4 = (k + 3) / 4;
    int32x4_t a[4];
    for (int q = 0; q < 4; q++)
        a[q] = vdupq_n_s32(0);
    for (int32_t kq = 0; kq < k4; kq++) {
        int8x16_t xv = vreinterpretq_s8_s32(vdupq_n_s32(ert_xq(x, k, kq)));
        const int8_t *g = wb + (int64_t)kq * 64;
        for (int q = 0; q < nq; q++)
            a[q] = vdotq_s32(a[q], vld1q_s8(g + 16 * q), xv);
    }
    for (int q = 0; q < 4; q++)
        vst1q_s32(acc + 4 * q, a[q]);
}
#endif

/* The SIMD blocks above with nq a constant (1 to 4): their accumulator arrays then stay in
 * registers (indexed by a run-time count they would live in memory, a store and a load per
 * product). */
#define ERT_PDOT_DISPATCH(name, tgt)                                                                \
    tgt static inline void name(const int8_t *x, int32_t k, const int8_t *wb, int32_t nq, int32_t *acc) \
    {                                                                                                 \
        switch (nq) {                                                                                 \
        case 1: name##_n(x, k, wb, 1, acc); break;                                                     \
        case 2: name##_n(x, k, wb, 2, acc); break;                                                     \
        case 3: name##_n(x, k, wb, 3, acc); break;                                                     \
        default: name##_n(x, k, wb, 4, acc); break;                                                    \
        }                                                                                             \
    }
#if ERT_X86
ERT_PDOT_DISPATCH(ert_pdot16_avx2, ERT_TGT_AVX2)
#endif
#if ERT_ARM64
ERT_PDOT_DISPATCH(ert_pdot16_neon, )
ERT_PDOT_DISPATCH(ert_pdot16_dot, ERT_TGT_DOT)
#endif

/* acc[0, 4 * nq) of a block whose first nq quads of 4 channels hold channels (a narrow layer, e.g.
 * micro_speech's 4 outputs, reads only its own quarter of the packing; acc past them: unset) */
ERT_INLINE void ert_pdot16(int lvl, const int8_t *x, int32_t k, const int8_t *wb, int32_t nq, int32_t *acc)
{
#if ERT_X86
    if (lvl == ERT_LVL_AVX2 || lvl == ERT_LVL_VNNI) { ert_pdot16_avx2(x, k, wb, nq, acc); return; }
#endif
#if ERT_ARM64
    if (lvl == ERT_LVL_DOT) { ert_pdot16_dot(x, k, wb, nq, acc); return; }
    if (lvl == ERT_LVL_NEON) { ert_pdot16_neon(x, k, wb, nq, acc); return; }
#endif
    (void)lvl;
    ert_pdot16_c(x, k, wb, nq, acc);
}

#if ERT_X86
/* acc += a (u8) . b (s8) per int32 lane, in place: in unrolled loops GCC 12 copies the accumulator
 * of the _mm512_dpbusd_epi32 builtin in and out of another register around every product. */
#if defined(__GNUC__) && !defined(__clang__)
#define ERT_DPBUSD(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "vm"(b))
#else
#define ERT_DPBUSD(acc, a, b) ((acc) = _mm512_dpbusd_epi32((acc), (a), (b)))
#endif
/* the accumulator arrays stay in registers only when their loops are unrolled before GCC's scalar
 * replacement of aggregates (constant trip counts alone do not ensure it) */
#if defined(__GNUC__) && !defined(__clang__)
#define ERT_UNROLL _Pragma("GCC unroll 16")
#else
#define ERT_UNROLL
#endif

/* Input bytes the batch-1 path biases at a time into its local row (ERT_MAX_LOCAL_BYTES). */
#define ERT_FC1_XB 1024

/* xb = x[0, nb) ^ 0x80 (nb <= ERT_FC1_XB), zero padded to 16 bytes (0 ^ 0x80: times the packing's
 * zero weights). Read 16 bytes at a time: the op before stored x 16 bytes at a time, and a wider
 * load of bytes still in the store buffer cannot take them from there (it waits for the stores). */
ERT_VNNI_INLINE void ert_fc_bias_row(const int8_t *x, int32_t nb, __m128i *xb)
{
    const __m128i b80 = _mm_set1_epi8((char)0x80);
    for (int32_t i = 0; i * 16 < nb; i++) {
        int32_t left = nb - i * 16;
        __m128i v = left >= 16 ? _mm_loadu_si128((const __m128i *)(x + i * 16))
                               : _mm_maskz_loadu_epi8((__mmask16)((1u << left) - 1u), x + i * 16);
        xb[i] = _mm_xor_si128(v, b80);
    }
}

/* Batch 1 on VNNI: B channel blocks x U interleaved groups of taps = 16 accumulators, so even one
 * block over a long K (micro_speech's 4 x 4000) has 16 independent dependency chains; each
 * broadcast of 4 biased input bytes (from xb) feeds the B blocks. A row longer than ERT_FC1_XB is
 * biased into xb piece by piece (rebiased: the row is biased once in all when it fits,
 * biased = 1). B and biased are constants at each call (B = 8, 4, 2 or 1; U = 16 / B). */
ERT_VNNI_INLINE void ert_fc_tile1(const int8_t *x, int32_t k, __m128i *xb, const int8_t *wp, int32_t ob0,
                                  const ert_epi *e, int32_t n, const int B, const int biased)
{
    const int U = 16 / B;
    const int64_t bs = (int64_t)((k + 3) / 4) * 64;
    const int8_t *xs = (const int8_t *)xb;
    __m512i a[16];
    ERT_UNROLL
    for (int i = 0; i < 16; i++)
        a[i] = _mm512_setzero_si512();
    for (int32_t k0 = 0; k0 < k; k0 += ERT_FC1_XB) {
        int32_t kl = k - k0 < ERT_FC1_XB ? k - k0 : ERT_FC1_XB, k4 = (kl + 3) / 4, kq = 0;
        const int8_t *w0 = wp + (int64_t)ob0 * bs + (int64_t)k0 * 16; /* group k0 / 4, 64 bytes each */
        if (!biased)
            ert_fc_bias_row(x + k0, kl, xb);
        for (; kq + U <= k4; kq += U)
            ERT_UNROLL
            for (int u = 0; u < U; u++) {
                int32_t v;
                memcpy(&v, xs + 4 * (kq + u), 4);
                __m512i xv = _mm512_set1_epi32(v);
                ERT_UNROLL
                for (int b = 0; b < B; b++)
                    ERT_DPBUSD(a[b * U + u], xv, _mm512_loadu_si512(w0 + b * bs + (int64_t)(kq + u) * 64));
            }
        for (; kq < k4; kq++) {
            int32_t v;
            memcpy(&v, xs + 4 * kq, 4);
            __m512i xv = _mm512_set1_epi32(v);
            ERT_UNROLL
            for (int b = 0; b < B; b++)
                ERT_DPBUSD(a[b * U], xv, _mm512_loadu_si512(w0 + b * bs + (int64_t)kq * 64));
        }
    }
    ERT_UNROLL
    for (int b = 0; b < B; b++) {
        __m512i v = a[b * U];
        ERT_UNROLL
        for (int u = 1; u < U; u++)
            v = _mm512_add_epi32(v, a[b * U + u]);
        ert_gemm_out_vnni(v, ob0 + b, n, e, 0);
    }
}

ERT_VNNI_INLINE void ert_fc_tiles1(const int8_t *x, int32_t k, __m128i *xb, const int8_t *wp, int32_t n,
                                   const ert_epi *e, const int biased)
{
    int32_t ob = 0, ocb = (n + 15) / 16;
    for (; ob + 8 <= ocb; ob += 8)
        ert_fc_tile1(x, k, xb, wp, ob, e, n, 8, biased);
    if (ocb - ob >= 4) {
        ert_fc_tile1(x, k, xb, wp, ob, e, n, 4, biased);
        ob += 4;
    }
    if (ocb - ob >= 2) {
        ert_fc_tile1(x, k, xb, wp, ob, e, n, 2, biased);
        ob += 2;
    }
    if (ob < ocb)
        ert_fc_tile1(x, k, xb, wp, ob, e, n, 1, biased);
}

/* One row x (batch 1) of FULLY_CONNECTED on VNNI, in tiles of 8, 4, 2 or 1 blocks. */
ERT_TGT_VNNI static inline void ert_fc_vnni1(const int8_t *x, int32_t k, const int8_t *wp, int32_t n,
                                             const ert_epi *e)
{
    __m128i xb[ERT_FC1_XB / 16];
    if (k > ERT_FC1_XB) {
        ert_fc_tiles1(x, k, xb, wp, n, e, 0);
        return;
    }
    ert_fc_bias_row(x, k, xb);
    ert_fc_tiles1(x, k, xb, wp, n, e, 1);
}
#endif

/* FULLY_CONNECTED[_ADD]'s product for np rows xr[] over the packing wp, into e's output stage. */
ERT_INLINE void ert_fc_product(int lvl, const int8_t *const *xr, int32_t np, int32_t k, const int8_t *wp,
                               int32_t n, const ert_epi *e)
{
#if ERT_X86
    if (lvl == ERT_LVL_VNNI) {
        if (np == 1) ert_fc_vnni1(xr[0], k, wp, n, e);
        else ert_gemm_vnni(xr, np, k, wp, n, e, 0);
        return;
    }
#endif
    int32_t k4 = (k + 3) / 4;
    for (int32_t p = 0; p < np; p++) {
        int8_t *y = e->yr[p];
        for (int32_t o = 0; o < n; o += 16) {
            int32_t r[16], nc = n - o < 16 ? n - o : 16;
            ert_pdot16(lvl, xr[p], k, wp + (int64_t)(o / 16) * k4 * 64, (nc + 3) / 4, r);
            for (int32_t q = 0; q < nc; q++)
                y[o + q] = ert_epi_one(e, p, o + q, r[q]);
        }
    }
}

#endif
