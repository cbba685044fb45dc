/* FULLY_CONNECTED's product on every path, over the one copy of its weights a C pack holds: the
 * VNNI packing (ert_gemm.h: [ceil(n/16)][ceil(K/4)][16][4] int8, zero padded). The AVX-512 VNNI
 * path runs ert_gemm_vnni's tiles on it; the others compute one block of 16 output channels at a
 * time here (ert_pdot16: 16 int32 sums, exact, |sum| <= 2^30 under ERT_MAX_DOT), then the scalar
 * output stage. The last group of 4 taps may be partial: its input bytes are copied into a zeroed
 * 4-byte group, so no byte past K of x is read (its weights are the packing's zeros). */
#ifndef ERT_PDOT_H
#define ERT_PDOT_H

#include "ert_gemm.h"

/* x's 4 bytes of group kq as one int32 (zeros past k) */
ERT_INLINE int32_t ert_xq(const int8_t *x, int32_t k, int32_t kq)
{
    int32_t v = 0, nb = k - kq * 4;
    memcpy(&v, x + kq * 4, (size_t)(nb < 4 ? nb : 4));
    return v;
}

ERT_INLINE void ert_pdot16_c(const int8_t *x, int32_t k, const int8_t *wb, int32_t *acc)
{
    int32_t k4 = (k + 3) / 4;
    for (int j = 0; j < 16; j++)
        acc[j] = 0;
    for (int32_t kq = 0; kq < k4; kq++) {
        int32_t v = ert_xq(x, k, kq);
        int8_t xq[4];
        memcpy(xq, &v, 4);
        const int8_t *g = wb + (int64_t)kq * 64;
        for (int j = 0; j < 16; j++)
            acc[j] += xq[0] * g[4 * j] + xq[1] * g[4 * j + 1] + xq[2] * g[4 * j + 2] + xq[3] * g[4 * j + 3];
    }
}

#if ERT_X86
/* Each 16 bytes of a group (4 channels x 4 taps) sign-extended to int16 and multiplied by the 4
 * taps of x (repeated) in vpmaddwd: 8 int32 = 4 channels x 2 pair sums (exact: |pair| <= 2^15);
 * the pairs are added at the end (vphaddd, then the lanes put in channel order). */
ERT_TGT_AVX2 static inline void ert_pdot16_avx2(const int8_t *x, int32_t k, const int8_t *wb, int32_t *acc)
{
    int32_t k4 = (k + 3) / 4;
    __m256i a[4];
    for (int q = 0; q < 4; q++)
        a[q] = _mm256_setzero_si256();
    for (int32_t kq = 0; kq < k4; kq++) {
        __m256i xv = _mm256_cvtepi8_epi16(_mm_set1_epi32(ert_xq(x, k, kq)));
        const int8_t *g = wb + (int64_t)kq * 64;
        for (int q = 0; q < 4; q++)
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
static inline void ert_pdot16_neon(const int8_t *x, int32_t k, const int8_t *wb, int32_t *acc)
{
    int32_t k4 = (k + 3) / 4;
    int32x4_t lo[4], hi[4];
    for (int q = 0; q < 4; q++)
        lo[q] = hi[q] = vdupq_n_s32(0);
    for (int32_t kq = 0; kq < k4; kq++) {
        int8x16_t xv = vreinterpretq_s8_s32(vdupq_n_s32(ert_xq(x, k, kq)));
        const int8_t *g = wb + (int64_t)kq * 64;
        for (int q = 0; q < 4; q++) {
            int8x16_t wv = vld1q_s8(g + 16 * q);
            lo[q] = vpadalq_s16(lo[q], vmull_s8(vget_low_s8(wv), vget_low_s8(xv)));
            hi[q] = vpadalq_s16(hi[q], vmull_high_s8(wv, xv));
        }
    }
    for (int q = 0; q < 4; q++)
        vst1q_s32(acc + 4 * q, vpaddq_s32(lo[q], hi[q]));
}

/* dot product (Pi 5): sdot sums each channel's 4 taps in its own lane, 4 channels per 16 bytes */
ERT_TGT_DOT static inline void ert_pdot16_dot(const int8_t *x, int32_t k, const int8_t *wb, int32_t *acc)
{
    int32_t k4 = (k + 3) / 4;
    int32x4_t a[4];
    for (int q = 0; q < 4; q++)
        a[q] = vdupq_n_s32(0);
    for (int32_t kq = 0; kq < k4; kq++) {
        int8x16_t xv = vreinterpretq_s8_s32(vdupq_n_s32(ert_xq(x, k, kq)));
        const int8_t *g = wb + (int64_t)kq * 64;
        for (int q = 0; q < 4; q++)
            a[q] = vdotq_s32(a[q], vld1q_s8(g + 16 * q), xv);
    }
    for (int q = 0; q < 4; q++)
        vst1q_s32(acc + 4 * q, a[q]);
}
#endif

ERT_INLINE void ert_pdot16(int lvl, const int8_t *x, int32_t k, const int8_t *wb, int32_t *acc)
{
#if ERT_X86
    if (lvl == ERT_LVL_AVX2 || lvl == ERT_LVL_VNNI) { ert_pdot16_avx2(x, k, wb, acc); return; }
#endif
#if ERT_ARM64
    if (lvl == ERT_LVL_DOT) { ert_pdot16_dot(x, k, wb, acc); return; }
    if (lvl == ERT_LVL_NEON) { ert_pdot16_neon(x, k, wb, acc); return; }
#endif
    (void)lvl;
    ert_pdot16_c(x, k, wb, acc);
}

/* FULLY_CONNECTED[_ADD]'s product for np rows xr[] over the packing wp, into e's output stage. */
ERT_INLINE void ert_fc_product(int lvl, const int8_t *const *xr, int32_t np, int32_t k, const int8_t *wp,
                               int32_t n, const ert_epi *e)
{
#if ERT_X86
    if (lvl == ERT_LVL_VNNI) {
        ert_gemm_vnni(xr, np, k, wp, n, e, 0);
        return;
    }
#endif
    int32_t k4 = (k + 3) / 4;
    for (int32_t p = 0; p < np; p++) {
        int8_t *y = e->yr[p];
        for (int32_t o = 0; o < n; o += 16) {
            int32_t r[16], nc = n - o < 16 ? n - o : 16;
            ert_pdot16(lvl, xr[p], k, wp + (int64_t)(o / 16) * k4 * 64, r);
            for (int32_t q = 0; q < nc; q++) {
                int32_t c = o + q;
                /* unsigned add: the int32 wrap-around of the reference, without C's signed overflow */
                int32_t v = (int32_t)((uint32_t)e->bias[c] + (uint32_t)r[q]);
                v = ert_clamp(ert_mbqm(v, e->mult[c], e->shift[c]) + e->off, e->lo, e->hi);
                if (e->add) {
                    int32_t s = e->sr[p][c];
                    v = e->first ? ert_add_one(e->add, v, s) : ert_add_one(e->add, s, v);
                }
                y[c] = (int8_t)v;
            }
        }
    }
}

#endif
