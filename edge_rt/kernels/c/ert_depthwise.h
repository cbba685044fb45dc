/* Depthwise loops shared by depthwise_conv_2d.c and ds_conv.c: one output pixel from the input
 * rows rowp[ky] (NULL: padded; DS_CONV_2D points overwritten rows at its ring), accumulated in
 * registers (no scratch) and requantized into the int8 output. */
#ifndef ERT_DEPTHWISE_H
#define ERT_DEPTHWISE_H

#include "ert_conv.h"

#if defined(__GNUC__) && (__GNUC__ >= 9 || defined(__clang__))
/* GNU C vectors of 8 channels: the int8 products in int16 (|x * w| <= 2^14: exact), widened
 * into wrapping uint32 sums; SSE2, AVX2, NEON or plain code. A constant width the compiler keeps
 * in registers, which its loop vectorizer does not achieve for this loop nest. */
#define ERT_VEC8 1
typedef int16_t ert_v8h __attribute__((vector_size(16)));
typedef int8_t ert_v8b __attribute__((vector_size(8)));
typedef uint32_t ert_v8u __attribute__((vector_size(32)));
typedef int32_t ert_v8i __attribute__((vector_size(32)));
/* int16 products sign-extended (one vpmovsxwd ymm; through uint32 gcc splits it in halves) */
#define ERT_V8_WIDEN(v) ((ert_v8u)__builtin_convertvector((v), ert_v8i))

ERT_INLINE ert_v8h ert_v8_load(const int8_t *p)
{
#if ERT_ARM64 /* gcc 12 widens an 8-byte GNU vector lane by lane on aarch64: one sxtl instead */
    return (ert_v8h)vmovl_s8(vld1_s8(p));
#else
    ert_v8b b;
    memcpy(&b, p, 8);
    return __builtin_convertvector(b, ert_v8h);
#endif
}

/* the taps of ert_dw_pixel for nv = 1 or 2 vectors of 8 channels from c0, added to a[0 .. 8*nv);
 * dm == 1 and one input channel read x without a division per channel */
ERT_INLINE void ert_dw_pixel_v8(const ert_geom *g, int32_t dm, const int8_t *const *rowp, int32_t ix0,
                                const int8_t *w, int32_t c0, int32_t nv, uint32_t *a)
{
    ert_v8u acc[2] = {{0}, {0}};
    for (int32_t ky = 0; ky < g->kh; ky++)
        for (int32_t kx = 0; kx < g->kw; kx++) {
            int32_t ix = ix0 + kx * g->dw;
            const int8_t *wp = w + (int64_t)(ky * g->kw + kx) * g->oc + c0;
            int valid = rowp[ky] != NULL && ix >= 0 && ix < g->w;
            if (!valid && !g->in_zp) continue;
            const int8_t *xp = valid ? rowp[ky] + (int64_t)ix * g->ic : NULL;
            for (int32_t v = 0; v < 2; v++) {
                if (v >= nv) break;
                ert_v8h xv;
                if (!valid) {
                    xv = (ert_v8h){0} + (int16_t)g->in_zp;
                } else if (dm == 1) {
                    xv = ert_v8_load(xp + c0 + 8 * v);
                } else if (g->ic == 1) {
                    xv = (ert_v8h){0} + (int16_t)xp[0];
                } else {
                    for (int32_t c = 0; c < 8; c++)
                        xv[c] = xp[(c0 + 8 * v + c) / dm];
                }
                acc[v] += ERT_V8_WIDEN(xv * ert_v8_load(wp + 8 * v));
            }
        }
    for (int32_t c = 0; c < 8 * nv; c++)
        a[c] += acc[c / 8][c % 8];
}
#endif

/* Portable DEPTHWISE output pixel ox of the row whose input rows are row(ky) (NULL: padded):
 * 16 channels at a time in a local accumulator (no scratch), requantized into out[c]. Blocks of
 * 8 or 16 channels take the GNU C vectors: the plain loop's run-time width leaves the sums in
 * memory, where each tap's partial vector stores stall the next tap's loads. */
ERT_INLINE void ert_dw_pixel(const ert_geom *g, int32_t dm, const int8_t *const *rowp, int32_t ox, const int8_t *w,
                             const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *out)
{
    int32_t ix0 = ox * g->sw - g->pl;
    for (int32_t c0 = 0; c0 < g->oc; c0 += 16) {
        int32_t n = g->oc - c0 < 16 ? g->oc - c0 : 16, r[16];
        uint32_t a[16]; /* wraps like the reference's int32 sums */
        for (int32_t c = 0; c < n; c++)
            a[c] = (uint32_t)bias[c0 + c];
#if ERT_VEC8
        if (n == 16 || n == 8)
            ert_dw_pixel_v8(g, dm, rowp, ix0, w, c0, n / 8, a);
        else
#endif
        for (int32_t ky = 0; ky < g->kh; ky++)
            for (int32_t kx = 0; kx < g->kw; kx++) {
                int32_t ix = ix0 + kx * g->dw;
                const int8_t *wp = w + (int64_t)(ky * g->kw + kx) * g->oc + c0;
                if (rowp[ky] != NULL && ix >= 0 && ix < g->w) {
                    const int8_t *xp = rowp[ky] + (int64_t)ix * g->ic;
                    for (int32_t c = 0; c < n; c++)
                        a[c] += (uint32_t)((int32_t)xp[(c0 + c) / dm] * wp[c]);
                } else if (g->in_zp) {
                    for (int32_t c = 0; c < n; c++)
                        a[c] += (uint32_t)(g->in_zp * wp[c]);
                }
            }
        for (int32_t c = 0; c < n; c++)
            r[c] = (int32_t)a[c];
        ert_requant_row(r, n, mult + c0, shift + c0, g->out_off, g->lo, g->hi, out + c0);
    }
}

#if ERT_X86
/* DEPTHWISE (dm == 1, or one input channel) output pixel ox of the output row whose input rows are rowp[ky] (NULL:
 * padded), 64 channels per pass in 4 registers: acc = bias + sum x * w (vpdpwssd on sign-extended
 * lanes, the weight's high int16 half zeroed; a padded tap adds in_zp * w), then the output stage (ert_gemm.h) into out[c], stored
 * biased (x ^ 0x80) when it feeds the VNNI product (the DS_CONV_2D band). */
ERT_TGT_VNNI static inline void ert_dw_pixel_vnni(const ert_geom *g, const int8_t *const *rowp, int32_t ox,
                                                  const int8_t *w, const int32_t *bias, const int32_t *mult,
                                                  const int32_t *shift, int8_t *out, int biased)
{
    int32_t oc = g->oc, ix0 = ox * g->sw - g->pl, one = g->ic == 1;
    const __m512i zpv = _mm512_set1_epi32(g->in_zp);
    /* vpdpwssd sums the two int16 halves' products of each lane: with the weight's high half
     * zeroed it adds exactly x * w (both int8 in the low half), wrapping like the reference */
    const __m512i lo16 = _mm512_set1_epi32(0xffff);
    for (int32_t c0 = 0; c0 < oc; c0 += 64) {
        __mmask16 m[4];
        __m512i a[4][4]; /* [tap % 4][block]: four independent chains hide the latency */
        int nb = 0;
        for (int b = 0; b < 4; b++) {
            int32_t n = oc - c0 - 16 * b;
            m[b] = n >= 16 ? (__mmask16)0xffff : (n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u));
            nb += m[b] != 0;
            for (int t = 0; t < 4; t++)
                a[t][b] = _mm512_setzero_si512();
        }
        int32_t t = 0;
        for (int32_t ky = 0; ky < g->kh; ky++) {
            const int8_t *xr = rowp[ky];
            for (int32_t kx = 0; kx < g->kw; kx++, t = (t + 1) & 3) {
                int32_t ix = ix0 + kx * g->dw;
                const int8_t *wp = w + (int64_t)(ky * g->kw + kx) * oc + c0;
                int valid = xr != NULL && ix >= 0 && ix < g->w;
                if (!valid && !g->in_zp) continue;
                /* dm == 1: channel c reads input channel c; ic == 1: every channel reads the one */
                const int8_t *xp = valid ? xr + (int64_t)ix * g->ic + (one ? 0 : c0) : NULL;
                __m512i x1 = valid && one ? _mm512_set1_epi32(xp[0]) : zpv;
#define ERT_DW_TAP(T)                                                                                     \
    for (int b = 0; b < 4; b++) {                                                                         \
        if (b >= nb) break;                                                                               \
        __m512i wv = _mm512_and_si512(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m[b], wp + 16 * b)), lo16); \
        __m512i xv = valid && !one ? _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m[b], xp + 16 * b)) : x1;  \
        a[T][b] = _mm512_dpwssd_epi32(a[T][b], xv, wv);                                                   \
    }
                switch (t) {
                case 0: ERT_DW_TAP(0) break;
                case 1: ERT_DW_TAP(1) break;
                case 2: ERT_DW_TAP(2) break;
                default: ERT_DW_TAP(3) break;
                }
#undef ERT_DW_TAP
            }
        }
        for (int b = 0; b < nb; b++) {
            int32_t o = c0 + 16 * b;
            __m512i v = _mm512_add_epi32(_mm512_add_epi32(a[0][b], a[1][b]), _mm512_add_epi32(a[2][b], a[3][b]));
            v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(m[b], bias + o));
            v = ert_mbqm16(v, _mm512_maskz_loadu_epi32(m[b], mult + o), _mm512_maskz_loadu_epi32(m[b], shift + o));
            v = ert_clamp16(_mm512_add_epi32(v, _mm512_set1_epi32(g->out_off)), g->lo, g->hi);
            __m128i q = _mm512_cvtepi32_epi8(v);
            if (biased) q = _mm_xor_si128(q, _mm_set1_epi8((char)0x80));
            _mm_mask_storeu_epi8(out + o, m[b], q);
        }
    }
}
#endif


#if ERT_X86
/* The fast DEPTHWISE row on VNNI (ert_dw_row_ok: dm == 1, at most ERT_DW_TAPS taps): the output
 * row seen as one flat pixel-major array, 16 int32 lanes at a time, one vpdpwssd per tap (the
 * weight's high int16 half zeroed, as ert_dw_pixel_vnni). Two lane layouts:
 *  - C % 16 == 0: a chunk is 16 channels of one pixel (any stride, any dilation); the taps'
 *    weights and the output constants are widened once per channel chunk for the whole row;
 *  - 16 % C == 0 and stride 1: a chunk spans 16 / C pixels, lane l holding channel l % C (the
 *    weights and constants tiled across the lanes once per row), and each tap's 16 input bytes
 *    are contiguous: input flat index = output flat index + (kx*dw - pl)*C.
 * A tap outside the input reads in_zp (a masked load merging it in, or the zp row), a wholly
 * padded input row adds in_zp * w to the bias: the reference's skipped taps, given the fold.
 * nr output rows at once (row r's input rows at rows[r*kh ..], its output at outs + r*ow*C):
 * the widened weights serve them all. Output as ert_dw_pixel_vnni: biased (x ^ 0x80) when it
 * feeds the VNNI product. */
#define ERT_DW_TAPS 25

ERT_INLINE int ert_dw_row_ok(const ert_geom *g, int32_t dm)
{
    int32_t c = g->oc;
    return dm == 1 && g->kh * g->kw <= ERT_DW_TAPS && (c % 16 == 0 || (16 % c == 0 && g->sw == 1));
}

/* ert_dw_row_vnni for C % 32 == 0: 32 channels per step, sign-extended to int16 once per tap
 * (vpmovsxbw), then two vpdpwssd: with the weights' odd int16 lanes zeroed, dword i gets
 * x[2i] * w[2i] (even channels); with the even lanes zeroed, x[2i+1] * w[2i+1] (odd channels).
 * Half the widening per product of the 16-lane form; the even and odd int8 results are
 * interleaved back at the store. */
ERT_TGT_VNNI static void ert_dw_rows32_vnni(const ert_geom *g, const int8_t *const *rows, int32_t nr, const int8_t *w,
                                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                            int8_t *outs, int biased)
{
    const int32_t C = g->oc, taps = g->kh * g->kw;
    const __m512i zero = _mm512_setzero_si512(), lo16 = _mm512_set1_epi32(0xffff), hi16 = _mm512_set1_epi32((int32_t)0xffff0000u);
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512i zp16 = _mm512_set1_epi16((short)g->in_zp);
    int8_t zrow[32];
    memset(zrow, (int)(uint8_t)(int8_t)g->in_zp, sizeof zrow);
    for (int32_t c0 = 0; c0 < C; c0 += 32) {
        __m512i we[ERT_DW_TAPS], wo[ERT_DW_TAPS], ze[ERT_DW_TAPS], zo[ERT_DW_TAPS];
        for (int32_t t = 0; t < taps; t++) {
            __m512i wt = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(w + (int64_t)t * C + c0)));
            we[t] = _mm512_and_si512(wt, lo16);
            wo[t] = _mm512_and_si512(wt, hi16);
            ze[t] = _mm512_dpwssd_epi32(zero, zp16, we[t]); /* in_zp * w: a tap in a padded row */
            zo[t] = _mm512_dpwssd_epi32(zero, zp16, wo[t]);
        }
        ert_oq qe, qo;
        __m512i b0 = _mm512_loadu_si512(bias + c0), b1 = _mm512_loadu_si512(bias + c0 + 16);
        __m512i m0 = _mm512_loadu_si512(mult + c0), m1 = _mm512_loadu_si512(mult + c0 + 16);
        __m512i s0 = _mm512_loadu_si512(shift + c0), s1 = _mm512_loadu_si512(shift + c0 + 16);
        const __m512i be = _mm512_permutex2var_epi32(b0, ev, b1), bo = _mm512_permutex2var_epi32(b0, od, b1);
        qe.m = _mm512_permutex2var_epi32(m0, ev, m1);
        qo.m = _mm512_permutex2var_epi32(m0, od, m1);
        ert_oq_shifts(&qe, _mm512_permutex2var_epi32(s0, ev, s1));
        ert_oq_shifts(&qo, _mm512_permutex2var_epi32(s0, od, s1));
        for (int32_t rr = 0; rr < nr; rr++) {
            const int8_t *const *rowp = rows + (int64_t)rr * g->kh;
            int8_t *out = outs + (int64_t)rr * g->ow * C + c0;
            __m512i pe = zero, po = zero;
            int32_t ti[ERT_DW_TAPS], td[ERT_DW_TAPS], nt = 0, dlo = 0, dhi = 0;
            const int8_t *tp[ERT_DW_TAPS];
            for (int32_t ky = 0; ky < g->kh; ky++)
                for (int32_t kx = 0; kx < g->kw; kx++) {
                    int32_t t = ky * g->kw + kx;
                    if (rowp[ky] == NULL) {
                        pe = _mm512_add_epi32(pe, ze[t]);
                        po = _mm512_add_epi32(po, zo[t]);
                        continue;
                    }
                    ti[nt] = t;
                    tp[nt] = rowp[ky];
                    td[nt] = kx * g->dw - g->pl;
                    dlo = td[nt] < dlo ? td[nt] : dlo;
                    dhi = td[nt] > dhi ? td[nt] : dhi;
                    nt++;
                }
            qe.bw = _mm512_add_epi32(be, pe);
            qo.bw = _mm512_add_epi32(bo, po);
            for (int32_t ox = 0; ox < g->ow; ox++) {
                int32_t ix0 = ox * g->sw;
                int inside = ix0 + dlo >= 0 && ix0 + dhi < g->w;
                __m512i ae = zero, ao = zero;
                for (int32_t t = 0; t < nt; t++) {
                    int32_t ix = ix0 + td[t];
                    const int8_t *p = inside || (uint32_t)ix < (uint32_t)g->w ? tp[t] + (int64_t)ix * C + c0 : zrow;
                    __m512i xv = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)p));
                    ae = _mm512_dpwssd_epi32(ae, xv, we[ti[t]]);
                    ao = _mm512_dpwssd_epi32(ao, xv, wo[ti[t]]);
                }
                __m128i re = ert_oq_int8(ae, &qe, g->out_off, g->lo, g->hi, biased);
                __m128i ro = ert_oq_int8(ao, &qo, g->out_off, g->lo, g->hi, biased);
                int8_t *o = out + (int64_t)ox * C;
                _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi8(re, ro));
                _mm_storeu_si128((__m128i *)(o + 16), _mm_unpackhi_epi8(re, ro));
            }
        }
    }
}

/* ert_dw_rows32_vnni for a 3x3 filter, stride 1, dilation 1 (the common DS-CNN/MobileNet tap):
 * the 18 widened weight vectors of a 32-channel block stay in registers for the whole row, and
 * each input pixel is widened once per row instead of once per tap: a window of three widened
 * pixels per filter row slides along the output row (pixel ox - pl + kx feeds tap kx of output
 * ox). A tap outside the input (a padded row, or a column left/right of the row) reads the zp
 * row (in_zp, as the reference's skipped taps given the fold), without a per-tap table. */
ERT_TGT_VNNI static void ert_dw_rows32_3x3_vnni(const ert_geom *g, const int8_t *const *rows, int32_t nr, const int8_t *w,
                                                const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                                int8_t *outs, int biased)
{
    const int32_t C = g->oc, W = g->w, pl = g->pl, ow = g->ow;
    const __m512i zero = _mm512_setzero_si512(), lo16 = _mm512_set1_epi32(0xffff), hi16 = _mm512_set1_epi32((int32_t)0xffff0000u);
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    int8_t zrow[32];
    memset(zrow, (int)(uint8_t)(int8_t)g->in_zp, sizeof zrow);
    for (int32_t c0 = 0; c0 < C; c0 += 32) {
        __m512i we[9], wo[9];
        for (int32_t t = 0; t < 9; t++) {
            __m512i wt = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(w + (int64_t)t * C + c0)));
            we[t] = _mm512_and_si512(wt, lo16);
            wo[t] = _mm512_and_si512(wt, hi16);
        }
        ert_oq qe, qo;
        __m512i b0 = _mm512_loadu_si512(bias + c0), b1 = _mm512_loadu_si512(bias + c0 + 16);
        __m512i m0 = _mm512_loadu_si512(mult + c0), m1 = _mm512_loadu_si512(mult + c0 + 16);
        __m512i s0 = _mm512_loadu_si512(shift + c0), s1 = _mm512_loadu_si512(shift + c0 + 16);
        qe.bw = _mm512_permutex2var_epi32(b0, ev, b1);
        qo.bw = _mm512_permutex2var_epi32(b0, od, b1);
        qe.m = _mm512_permutex2var_epi32(m0, ev, m1);
        qo.m = _mm512_permutex2var_epi32(m0, od, m1);
        ert_oq_shifts(&qe, _mm512_permutex2var_epi32(s0, ev, s1));
        ert_oq_shifts(&qo, _mm512_permutex2var_epi32(s0, od, s1));
        for (int32_t rr = 0; rr < nr; rr++) {
            const int8_t *const *rowp = rows + (int64_t)rr * 3;
            int8_t *out = outs + (int64_t)rr * ow * C + c0;
            const int8_t *r0 = rowp[0] ? rowp[0] + c0 : NULL, *r1 = rowp[1] ? rowp[1] + c0 : NULL;
            const int8_t *r2 = rowp[2] ? rowp[2] + c0 : NULL;
#define ERT_DW_PX(r, ix) \
    _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)((r) != NULL && (uint32_t)(ix) < (uint32_t)W ? (r) + (int64_t)(ix) * C : zrow)))
            __m512i a0 = ERT_DW_PX(r0, -pl), a1 = ERT_DW_PX(r0, 1 - pl);
            __m512i b0x = ERT_DW_PX(r1, -pl), b1x = ERT_DW_PX(r1, 1 - pl);
            __m512i c0x = ERT_DW_PX(r2, -pl), c1x = ERT_DW_PX(r2, 1 - pl);
            for (int32_t ox = 0; ox < ow; ox++) {
                int32_t ix = ox - pl + 2;
                __m512i a2 = ERT_DW_PX(r0, ix), b2x = ERT_DW_PX(r1, ix), c2x = ERT_DW_PX(r2, ix);
                /* two chains per parity: rows 0 and 2 in one, row 1 in the other */
                __m512i e0 = _mm512_dpwssd_epi32(zero, a0, we[0]), o0 = _mm512_dpwssd_epi32(zero, a0, wo[0]);
                __m512i e1 = _mm512_dpwssd_epi32(zero, b0x, we[3]), o1 = _mm512_dpwssd_epi32(zero, b0x, wo[3]);
                e0 = _mm512_dpwssd_epi32(e0, a1, we[1]); o0 = _mm512_dpwssd_epi32(o0, a1, wo[1]);
                e1 = _mm512_dpwssd_epi32(e1, b1x, we[4]); o1 = _mm512_dpwssd_epi32(o1, b1x, wo[4]);
                e0 = _mm512_dpwssd_epi32(e0, a2, we[2]); o0 = _mm512_dpwssd_epi32(o0, a2, wo[2]);
                e1 = _mm512_dpwssd_epi32(e1, b2x, we[5]); o1 = _mm512_dpwssd_epi32(o1, b2x, wo[5]);
                e0 = _mm512_dpwssd_epi32(e0, c0x, we[6]); o0 = _mm512_dpwssd_epi32(o0, c0x, wo[6]);
                e1 = _mm512_dpwssd_epi32(e1, c1x, we[7]); o1 = _mm512_dpwssd_epi32(o1, c1x, wo[7]);
                e0 = _mm512_dpwssd_epi32(e0, c2x, we[8]); o0 = _mm512_dpwssd_epi32(o0, c2x, wo[8]);
                __m128i re = ert_oq_int8(_mm512_add_epi32(e0, e1), &qe, g->out_off, g->lo, g->hi, biased);
                __m128i ro = ert_oq_int8(_mm512_add_epi32(o0, o1), &qo, g->out_off, g->lo, g->hi, biased);
                int8_t *o = out + (int64_t)ox * C;
                _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi8(re, ro));
                _mm_storeu_si128((__m128i *)(o + 16), _mm_unpackhi_epi8(re, ro));
                a0 = a1; a1 = a2; b0x = b1x; b1x = b2x; c0x = c1x; c1x = c2x;
            }
#undef ERT_DW_PX
        }
    }
}

/* ert_dw_row_vnni's flat layout in 32 lanes (32 % C == 0, 2 <= C <= 16, stride 1): 32 flat
 * bytes widened to int16 once per tap, even and odd flat positions by two vpdpwssd as
 * ert_dw_rows32_vnni (the weights and constants tiled: position l has channel l % C). */
ERT_TGT_VNNI static void ert_dw_flat32_vnni(const ert_geom *g, const int8_t *const *rows, int32_t nr, const int8_t *w,
                                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                            int8_t *outs, int biased)
{
    const int32_t C = g->oc, WC = g->w * C, taps = g->kh * g->kw, n = g->ow * C;
    const __m512i zero = _mm512_setzero_si512(), lo16 = _mm512_set1_epi32(0xffff), hi16 = _mm512_set1_epi32((int32_t)0xffff0000u);
    const __m512i i16 = _mm512_and_si512(_mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
                                                          15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                         _mm512_set1_epi16((short)(C - 1))); /* l % C */
    const __m512i lane2 = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i ie = _mm512_and_si512(lane2, _mm512_set1_epi32(C - 1));
    const __m512i io = _mm512_and_si512(_mm512_add_epi32(lane2, _mm512_set1_epi32(1)), _mm512_set1_epi32(C - 1));
    const __mmask16 cm = (__mmask16)((1u << C) - 1u);
    const __m256i zp8 = _mm256_set1_epi8((char)g->in_zp);
    const __m512i zp16 = _mm512_set1_epi16((short)g->in_zp);
    __m512i we[ERT_DW_TAPS], wo[ERT_DW_TAPS], ze[ERT_DW_TAPS], zo[ERT_DW_TAPS];
    for (int32_t t = 0; t < taps; t++) {
        __m512i wt = _mm512_permutexvar_epi16(i16, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8((__mmask32)cm, w + (int64_t)t * C)));
        we[t] = _mm512_and_si512(wt, lo16);
        wo[t] = _mm512_and_si512(wt, hi16);
        ze[t] = _mm512_dpwssd_epi32(zero, zp16, we[t]);
        zo[t] = _mm512_dpwssd_epi32(zero, zp16, wo[t]);
    }
    ert_oq qe, qo;
    const __m512i b = _mm512_maskz_loadu_epi32(cm, bias), m = _mm512_maskz_loadu_epi32(cm, mult);
    const __m512i sh = _mm512_maskz_loadu_epi32(cm, shift);
    const __m512i be = _mm512_permutexvar_epi32(ie, b), bo = _mm512_permutexvar_epi32(io, b);
    qe.m = _mm512_permutexvar_epi32(ie, m);
    qo.m = _mm512_permutexvar_epi32(io, m);
    ert_oq_shifts(&qe, _mm512_permutexvar_epi32(ie, sh));
    ert_oq_shifts(&qo, _mm512_permutexvar_epi32(io, sh));
    for (int32_t rr = 0; rr < nr; rr++) {
        const int8_t *const *rowp = rows + (int64_t)rr * g->kh;
        int8_t *out = outs + (int64_t)rr * n;
        __m512i pe = zero, po = zero;
        int32_t ti[ERT_DW_TAPS], td[ERT_DW_TAPS], nt = 0, dlo = 0, dhi = 0;
        const int8_t *tp[ERT_DW_TAPS];
        for (int32_t ky = 0; ky < g->kh; ky++)
            for (int32_t kx = 0; kx < g->kw; kx++) {
                int32_t t = ky * g->kw + kx;
                if (rowp[ky] == NULL) {
                    pe = _mm512_add_epi32(pe, ze[t]);
                    po = _mm512_add_epi32(po, zo[t]);
                    continue;
                }
                ti[nt] = t;
                tp[nt] = rowp[ky];
                td[nt] = (kx * g->dw - g->pl) * C;
                dlo = td[nt] < dlo ? td[nt] : dlo;
                dhi = td[nt] > dhi ? td[nt] : dhi;
                nt++;
            }
        qe.bw = _mm512_add_epi32(be, pe);
        qo.bw = _mm512_add_epi32(bo, po);
        for (int32_t j = 0; j < n; j += 32) {
            __m512i ae = zero, ao = zero;
            int inside = j + dlo >= 0 && j + dhi + 32 <= WC;
            for (int32_t t = 0; t < nt; t++) {
                int32_t bq = j + td[t];
                __m256i xv;
                if (inside) {
                    xv = _mm256_loadu_si256((const __m256i *)(tp[t] + bq));
                } else { /* lanes outside [0, WC) are padding: never read, in_zp merged in */
                    uint64_t mk = 0xffffffffu;
                    if (bq < 0) mk = -bq >= 32 ? 0u : (mk << -bq) & 0xffffffffu;
                    if (bq + 32 > WC) mk &= WC - bq <= 0 ? 0u : (((uint64_t)1 << (WC - bq)) - 1u);
                    xv = _mm256_mask_loadu_epi8(zp8, (__mmask32)mk, (const void *)((intptr_t)tp[t] + bq));
                }
                __m512i xw = _mm512_cvtepi8_epi16(xv);
                ae = _mm512_dpwssd_epi32(ae, xw, we[ti[t]]);
                ao = _mm512_dpwssd_epi32(ao, xw, wo[ti[t]]);
            }
            __m128i re = ert_oq_int8(ae, &qe, g->out_off, g->lo, g->hi, biased);
            __m128i ro = ert_oq_int8(ao, &qo, g->out_off, g->lo, g->hi, biased);
            __m256i r = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(re, ro)), _mm_unpackhi_epi8(re, ro), 1);
            int32_t left = n - j;
            _mm256_mask_storeu_epi8(out + j, left >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << left) - 1u), r);
        }
    }
}

ERT_TGT_VNNI static void ert_dw_row_vnni(const ert_geom *g, const int8_t *const *rows, int32_t nr, const int8_t *w,
                                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                         int8_t *outs, int biased)
{
    const int32_t C = g->oc, WC = g->w * C;
    const int tiled = C % 16 != 0;
    if (C % 32 == 0 && g->kh == 3 && g->kw == 3 && g->sw == 1 && g->dw == 1) {
        ert_dw_rows32_3x3_vnni(g, rows, nr, w, bias, mult, shift, outs, biased);
        return;
    }
    if (C % 32 == 0) {
        ert_dw_rows32_vnni(g, rows, nr, w, bias, mult, shift, outs, biased);
        return;
    }
    if (g->sw == 1 && C >= 2 && 32 % C == 0) {
        ert_dw_flat32_vnni(g, rows, nr, w, bias, mult, shift, outs, biased);
        return;
    }
    const __m512i zero = _mm512_setzero_si512(), lo16 = _mm512_set1_epi32(0xffff);
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i idx = tiled ? _mm512_and_si512(lane, _mm512_set1_epi32(C - 1)) /* C divides 16 */ : lane;
    const __mmask16 cm = tiled ? (__mmask16)((1u << C) - 1u) : (__mmask16)0xffff;
    const __m128i zp8 = _mm_set1_epi8((char)g->in_zp);
    int8_t zrow[16];
    _mm_storeu_si128((__m128i *)zrow, zp8);
    const int32_t taps = g->kh * g->kw;
    for (int32_t c0 = 0; c0 < (tiled ? 1 : C); c0 += 16) {
        /* once per channel chunk for all nr rows: the taps' weights (high half zeroed) and
         * in_zp * w (what a tap in a padded row adds), the output constants */
        __m512i wa[ERT_DW_TAPS], zw[ERT_DW_TAPS];
        for (int32_t t = 0; t < taps; t++) {
            __m512i wt = _mm512_permutexvar_epi32(idx, _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(cm, w + (int64_t)t * C + c0)));
            wa[t] = _mm512_and_si512(wt, lo16);
            zw[t] = _mm512_mullo_epi32(_mm512_set1_epi32(g->in_zp), wt);
        }
        ert_oq q;
        const __m512i bias0 = _mm512_permutexvar_epi32(idx, _mm512_maskz_loadu_epi32(cm, bias + c0));
        q.m = _mm512_permutexvar_epi32(idx, _mm512_maskz_loadu_epi32(cm, mult + c0));
        ert_oq_shifts(&q, _mm512_permutexvar_epi32(idx, _mm512_maskz_loadu_epi32(cm, shift + c0)));
      for (int32_t rr = 0; rr < nr; rr++) {
        const int8_t *const *rowp = rows + (int64_t)rr * g->kh;
        int8_t *out = outs + (int64_t)rr * g->ow * C;
        __m512i wv[ERT_DW_TAPS], pad = zero;
        const int8_t *tp[ERT_DW_TAPS];
        int32_t td[ERT_DW_TAPS], nt = 0;
        for (int32_t ky = 0; ky < g->kh; ky++)
            for (int32_t kx = 0; kx < g->kw; kx++) {
                int32_t t = ky * g->kw + kx;
                if (rowp[ky] == NULL) {
                    pad = _mm512_add_epi32(pad, zw[t]);
                    continue;
                }
                wv[nt] = wa[t];
                tp[nt] = rowp[ky];
                td[nt] = (kx * g->dw - g->pl) * (tiled ? C : 1); /* flat offset (tiled) or pixel offset */
                nt++;
            }
        q.bw = _mm512_add_epi32(bias0, pad);
        if (tiled) {
            const int32_t n = g->ow * C;
            int32_t dlo = 0, dhi = 0;
            for (int32_t t = 0; t < nt; t++) {
                dlo = td[t] < dlo ? td[t] : dlo;
                dhi = td[t] > dhi ? td[t] : dhi;
            }
            for (int32_t j = 0; j < n; j += 16) {
                __m512i a[2] = {zero, zero};
                if (j + dlo >= 0 && j + dhi + 16 <= WC) { /* every tap's 16 bytes inside the row */
                    for (int32_t t = 0; t < nt; t++)
                        a[t & 1] = _mm512_dpwssd_epi32(a[t & 1], _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(tp[t] + j + td[t]))), wv[t]);
                } else {
                    for (int32_t t = 0; t < nt; t++) {
                        /* lanes outside [0, WC) are padding: never read, in_zp merged in */
                        int32_t b = j + td[t];
                        uint32_t m = 0xffffu;
                        if (b < 0) m = -b >= 16 ? 0u : (m << -b) & 0xffffu;
                        if (b + 16 > WC) m &= WC - b <= 0 ? 0u : (1u << (WC - b)) - 1u;
                        __m128i xv = _mm_mask_loadu_epi8(zp8, (__mmask16)m, (const void *)((intptr_t)tp[t] + b));
                        a[t & 1] = _mm512_dpwssd_epi32(a[t & 1], _mm512_cvtepi8_epi32(xv), wv[t]);
                    }
                }
                __m512i a0 = a[0], a1 = a[1];
                __m128i r = ert_oq_int8(_mm512_add_epi32(a0, a1), &q, g->out_off, g->lo, g->hi, biased);
                int32_t left = n - j;
                _mm_mask_storeu_epi8(out + j, left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u), r);
            }
            continue;
        }
        /* pixels whose every tap lies inside the row: pointers tq[t] + ox*sw*C, no checks */
        intptr_t tq[ERT_DW_TAPS]; /* addresses (before the row for taps left of pixel 0): formed, read only inside */
        int32_t dlo = 0, dhi = 0;
        for (int32_t t = 0; t < nt; t++) {
            tq[t] = (intptr_t)tp[t] + (intptr_t)td[t] * C + c0;
            dlo = td[t] < dlo ? td[t] : dlo;
            dhi = td[t] > dhi ? td[t] : dhi;
        }
        for (int32_t ox = 0; ox < g->ow; ox++) {
            int32_t ix0 = ox * g->sw;
            __m512i a0 = zero, a1 = zero;
            int32_t t = 0;
            if (ix0 + dlo >= 0 && ix0 + dhi < g->w) {
                int64_t off = (int64_t)ix0 * C;
                for (; t + 2 <= nt; t += 2) {
                    a0 = _mm512_dpwssd_epi32(a0, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(tq[t] + (intptr_t)off))), wv[t]);
                    a1 = _mm512_dpwssd_epi32(a1, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(tq[t + 1] + (intptr_t)off))), wv[t + 1]);
                }
                if (t < nt)
                    a0 = _mm512_dpwssd_epi32(a0, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(tq[t] + (intptr_t)off))), wv[t]);
                _mm_storeu_si128((__m128i *)(out + (int64_t)ox * C + c0),
                                 ert_oq_int8(_mm512_add_epi32(a0, a1), &q, g->out_off, g->lo, g->hi, biased));
                continue;
            }
            /* two chains (even and odd taps) halve the dependent vpdpwssd latency */
#define ERT_DW_PTR(t) ((uint32_t)(ix0 + td[t]) < (uint32_t)g->w ? tp[t] + (int64_t)(ix0 + td[t]) * C + c0 : zrow)
            for (; t + 2 <= nt; t += 2) {
                const int8_t *p0 = ERT_DW_PTR(t), *p1 = ERT_DW_PTR(t + 1);
                a0 = _mm512_dpwssd_epi32(a0, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p0)), wv[t]);
                a1 = _mm512_dpwssd_epi32(a1, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p1)), wv[t + 1]);
            }
            if (t < nt)
                a0 = _mm512_dpwssd_epi32(a0, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)ERT_DW_PTR(t))), wv[t]);
#undef ERT_DW_PTR
            __m128i r = ert_oq_int8(_mm512_add_epi32(a0, a1), &q, g->out_off, g->lo, g->hi, biased);
            _mm_storeu_si128((__m128i *)(out + (int64_t)ox * C + c0), r);
        }
      }
    }
}
#endif


#endif
