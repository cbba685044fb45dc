/* Run-time SIMD dispatch (no -march): each kernel's loop is written once as an always-inline
 * body taking a constant `lvl`; ERT_VARIANTS instantiates it once per target (function-level
 * target attributes) and the kernel entry point picks one from ert_ctx.features. The dot
 * products below are hand-written per target; everything else is left to the compiler's
 * vectorizer inside each instantiation. */
#ifndef ERT_SIMD_H
#define ERT_SIMD_H

#include <string.h>
#include "ert_kernels.h"
#include "ert_fixedpoint.h"

#define ERT_LVL_C 0
#define ERT_LVL_AVX2 1
#define ERT_LVL_VNNI 2
#define ERT_LVL_NEON 3
#define ERT_LVL_DOT 4

#if defined(__GNUC__)
#define ERT_INLINE static inline __attribute__((always_inline))
#else
#define ERT_INLINE static inline
#endif

#if defined(__GNUC__) && defined(__x86_64__) && !defined(ERT_PORTABLE_ONLY)
#define ERT_X86 1
#include <immintrin.h>
#define ERT_TGT_AVX2 __attribute__((target("avx2,fma")))
#define ERT_TGT_VNNI __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
/* helpers called only from VNNI-targeted code: always inlined (a call per 16 lanes costs more
 * than the lanes' arithmetic) */
#define ERT_VNNI_INLINE ERT_TGT_VNNI static inline __attribute__((always_inline))
#elif defined(__GNUC__) && defined(__aarch64__) && !defined(ERT_PORTABLE_ONLY)
#define ERT_ARM64 1
#include <arm_neon.h>
#define ERT_TGT_DOT __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

/* ---- dot products: out[j] = sum_{i<k} x[i] * w[j*ws + i], j < 4 ------------------------ */
ERT_INLINE void ert_dot4_c(const int8_t *x, const int8_t *w, int32_t ws, int32_t k, int32_t *out)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const int8_t *w0 = w, *w1 = w + ws, *w2 = w + 2 * ws, *w3 = w + 3 * ws;
    for (int32_t i = 0; i < k; i++) {
        int32_t v = x[i];
        a0 += v * w0[i];
        a1 += v * w1[i];
        a2 += v * w2[i];
        a3 += v * w3[i];
    }
    out[0] = a0; out[1] = a1; out[2] = a2; out[3] = a3;
}

ERT_INLINE int32_t ert_dot1_c(const int8_t *x, const int8_t *w, int32_t k)
{
    int32_t a = 0;
    for (int32_t i = 0; i < k; i++)
        a += (int32_t)x[i] * w[i];
    return a;
}

#if ERT_X86
ERT_TGT_AVX2 static inline int32_t ert_hsum256(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* 16 int8 at a time, sign-extended to int16, pairwise products summed to int32 (vpmaddwd):
 * exact, no saturation (|sum of two products| <= 2^15). */
ERT_TGT_AVX2 static inline void ert_dot4_avx2(const int8_t *x, const int8_t *w, int32_t ws, int32_t k,
                                              int32_t *out)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    int32_t i = 0;
    for (; i + 16 <= k; i += 16) {
        __m256i xv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + i)));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + i)))));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + ws + i)))));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 2 * ws + i)))));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 3 * ws + i)))));
    }
    int32_t r0 = ert_hsum256(a0), r1 = ert_hsum256(a1), r2 = ert_hsum256(a2), r3 = ert_hsum256(a3);
    for (; i < k; i++) {
        int32_t v = x[i];
        r0 += v * w[i]; r1 += v * w[ws + i]; r2 += v * w[2 * ws + i]; r3 += v * w[3 * ws + i];
    }
    out[0] = r0; out[1] = r1; out[2] = r2; out[3] = r3;
}

ERT_TGT_AVX2 static inline int32_t ert_dot1_avx2(const int8_t *x, const int8_t *w, int32_t k)
{
    __m256i a = _mm256_setzero_si256();
    int32_t i = 0;
    for (; i + 16 <= k; i += 16)
        a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + i))),
                                                  _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + i)))));
    int32_t r = ert_hsum256(a);
    for (; i < k; i++)
        r += (int32_t)x[i] * w[i];
    return r;
}

ERT_TGT_VNNI static inline int32_t ert_hsum512(__m512i v)
{
    return _mm512_reduce_add_epi32(v);
}

/* 32 int8 at a time sign-extended to int16 and multiplied-accumulated by vpdpwssd; the tail is
 * a masked load (the mask keeps the load inside the k bytes the validator allowed). */
ERT_TGT_VNNI static inline void ert_dot4_vnni(const int8_t *x, const int8_t *w, int32_t ws, int32_t k,
                                              int32_t *out)
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int32_t i = 0; i < k; i += 32) {
        int32_t n = k - i;
        __mmask32 m = n >= 32 ? 0xffffffffu : ((1u << n) - 1u);
        __m512i xv = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, x + i));
        a0 = _mm512_dpwssd_epi32(a0, xv, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w + i)));
        a1 = _mm512_dpwssd_epi32(a1, xv, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w + ws + i)));
        a2 = _mm512_dpwssd_epi32(a2, xv, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w + 2 * ws + i)));
        a3 = _mm512_dpwssd_epi32(a3, xv, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w + 3 * ws + i)));
    }
    out[0] = ert_hsum512(a0); out[1] = ert_hsum512(a1); out[2] = ert_hsum512(a2); out[3] = ert_hsum512(a3);
}

ERT_TGT_VNNI static inline int32_t ert_dot1_vnni(const int8_t *x, const int8_t *w, int32_t k)
{
    __m512i a = _mm512_setzero_si512();
    for (int32_t i = 0; i < k; i += 32) {
        int32_t n = k - i;
        __mmask32 m = n >= 32 ? 0xffffffffu : ((1u << n) - 1u);
        a = _mm512_dpwssd_epi32(a, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, x + i)),
                                _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w + i)));
    }
    return ert_hsum512(a);
}
#endif

#if ERT_ARM64
/* NEON (baseline on aarch64): 16 int8 at a time, widening multiply to int16 (vmull_s8: each
 * product <= 2^14) and pairwise-accumulate into int32 (vpadalq_s16). */
static inline int32_t ert_dot1_neon(const int8_t *x, const int8_t *w, int32_t k)
{
    int32x4_t a = vdupq_n_s32(0);
    int32_t i = 0;
    for (; i + 16 <= k; i += 16) {
        int8x16_t xv = vld1q_s8(x + i), wv = vld1q_s8(w + i);
        a = vpadalq_s16(a, vmull_s8(vget_low_s8(xv), vget_low_s8(wv)));
        a = vpadalq_s16(a, vmull_high_s8(xv, wv));
    }
    int32_t r = vaddvq_s32(a);
    for (; i < k; i++)
        r += (int32_t)x[i] * w[i];
    return r;
}

/* Pi 5 (Cortex-A76): sdot sums four int8 products into each int32 lane. */
ERT_TGT_DOT static inline int32_t ert_dot1_dot(const int8_t *x, const int8_t *w, int32_t k)
{
    int32x4_t a = vdupq_n_s32(0);
    int32_t i = 0;
    for (; i + 16 <= k; i += 16)
        a = vdotq_s32(a, vld1q_s8(x + i), vld1q_s8(w + i));
    int32_t r = vaddvq_s32(a);
    for (; i < k; i++)
        r += (int32_t)x[i] * w[i];
    return r;
}
#endif

ERT_INLINE int32_t ert_dot1(int lvl, const int8_t *x, const int8_t *w, int32_t k)
{
#if ERT_X86
    if (lvl == ERT_LVL_VNNI) return ert_dot1_vnni(x, w, k);
    if (lvl == ERT_LVL_AVX2) return ert_dot1_avx2(x, w, k);
#endif
#if ERT_ARM64
    if (lvl == ERT_LVL_DOT) return ert_dot1_dot(x, w, k);
    if (lvl == ERT_LVL_NEON) return ert_dot1_neon(x, w, k);
#endif
    (void)lvl;
    return ert_dot1_c(x, w, k);
}

ERT_INLINE void ert_dot4(int lvl, const int8_t *x, const int8_t *w, int32_t ws, int32_t k, int32_t *out)
{
#if ERT_X86
    if (lvl == ERT_LVL_VNNI) { ert_dot4_vnni(x, w, ws, k, out); return; }
    if (lvl == ERT_LVL_AVX2) { ert_dot4_avx2(x, w, ws, k, out); return; }
#endif
#if ERT_ARM64
    if (lvl == ERT_LVL_DOT || lvl == ERT_LVL_NEON) {
        for (int j = 0; j < 4; j++)
            out[j] = lvl == ERT_LVL_DOT ? ert_dot1_dot(x, w + j * ws, k) : ert_dot1_neon(x, w + j * ws, k);
        return;
    }
#endif
    (void)lvl;
    ert_dot4_c(x, w, ws, k, out);
}

/* acc[j] += dot(x, row j of w) for n rows of stride ws (n arbitrary). */
ERT_INLINE void ert_dotn(int lvl, const int8_t *x, const int8_t *w, int32_t ws, int32_t k, int32_t n,
                         int32_t *acc)
{
    int32_t j = 0, r[4];
    /* unsigned adds: the int32 wrap-around of the reference, without C's signed overflow */
    for (; j + 4 <= n; j += 4) {
        ert_dot4(lvl, x, w + (int64_t)j * ws, ws, k, r);
        for (int q = 0; q < 4; q++)
            acc[j + q] = (int32_t)((uint32_t)acc[j + q] + (uint32_t)r[q]);
    }
    for (; j < n; j++)
        acc[j] = (int32_t)((uint32_t)acc[j] + (uint32_t)ert_dot1(lvl, x, w + (int64_t)j * ws, k));
}

/* y[j] = clamp(mbqm(acc[j], mult[j], shift[j]) + off): the output loop of every weighted op. */
ERT_INLINE void ert_requant_row(const int32_t *acc, int32_t n, const int32_t *mult, const int32_t *shift,
                                int32_t off, int32_t lo, int32_t hi, int8_t *y)
{
    for (int32_t j = 0; j < n; j++)
        y[j] = (int8_t)ert_clamp(ert_mbqm(acc[j], mult[j], shift[j]) + off, lo, hi);
}

/* The same, kept as int32 in place (the residual epilogues add it to the skip row next). */
ERT_INLINE void ert_requant_row32(int32_t *acc, int32_t n, const int32_t *mult, const int32_t *shift,
                                  int32_t off, int32_t lo, int32_t hi)
{
    for (int32_t j = 0; j < n; j++)
        acc[j] = ert_clamp(ert_mbqm(acc[j], mult[j], shift[j]) + off, lo, hi);
}

/* y[j] = ADD(v[j], s[j]) (or ADD(s[j], v[j]) when the convolution feeds ADD's second input). y may
 * be s itself (the planner's in-place pair, exactly the same bytes): element j reads s[j] before
 * writing y[j], which the vectorized loop keeps, so the aliasing check is waived (ivdep). */
ERT_INLINE void ert_add_row(const int32_t *a, int first, const int32_t *v, const int8_t *s, int8_t *y, int32_t n)
{
    if (first) {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC ivdep
#endif
        for (int32_t j = 0; j < n; j++)
            y[j] = ert_add_one(a, v[j], s[j]);
    } else {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC ivdep
#endif
        for (int32_t j = 0; j < n; j++)
            y[j] = ert_add_one(a, s[j], v[j]);
    }
}

/* One kernel body instantiated per SIMD level; `name` dispatches on ctx->features. */
#if ERT_X86
#define ERT_VARIANTS(name, body)                                                              \
    static void name##_c(const ert_op *op) { body(op, ERT_LVL_C); }                           \
    ERT_TGT_AVX2 static void name##_avx2(const ert_op *op) { body(op, ERT_LVL_AVX2); }        \
    ERT_TGT_VNNI static void name##_vnni(const ert_op *op) { body(op, ERT_LVL_VNNI); }        \
    void name(const ert_op *op, const ert_ctx *ctx)                                           \
    {                                                                                         \
        if (ctx->features & ERT_CPU_AVX512VNNI) name##_vnni(op);                              \
        else if (ctx->features & ERT_CPU_AVX2) name##_avx2(op);                               \
        else name##_c(op);                                                                    \
    }
#elif ERT_ARM64
#define ERT_VARIANTS(name, body)                                                              \
    static void name##_c(const ert_op *op) { body(op, ERT_LVL_C); }                           \
    static void name##_neon(const ert_op *op) { body(op, ERT_LVL_NEON); }                     \
    ERT_TGT_DOT static void name##_dot(const ert_op *op) { body(op, ERT_LVL_DOT); }           \
    void name(const ert_op *op, const ert_ctx *ctx)                                           \
    {                                                                                         \
        if (ctx->features & ERT_CPU_DOTPROD) name##_dot(op);                                  \
        else if (ctx->features & ERT_CPU_NEON) name##_neon(op);                               \
        else name##_c(op);                                                                    \
    }
#else
#define ERT_VARIANTS(name, body)                                                              \
    void name(const ert_op *op, const ert_ctx *ctx) { (void)ctx; body(op, ERT_LVL_C); }
#endif

/* int64 product of extents, for the validators */
#define ERT_DIM_OK(v) ((v) >= 1 && (v) <= ERT_MAX_DIM)

#endif
