/* Depthwise loops shared by depthwise_conv_2d.c and ds_conv.c: one output pixel from the input
 * rows rowp[ky] (NULL: padded; DS_CONV_2D points overwritten rows at its ring), accumulated in
 * registers (no scratch) and requantized into the int8 output. */
#ifndef ERT_DEPTHWISE_H
#define ERT_DEPTHWISE_H

#include "ert_conv.h"

/* Portable DEPTHWISE output pixel ox of the row whose input rows are row(ky) (NULL: padded):
 * 16 channels at a time in a local accumulator (no scratch), requantized into out[c]. */
ERT_INLINE void ert_dw_pixel(const ert_geom *g, int32_t dm, const int8_t *const *rowp, int32_t ox, const int8_t *w,
                             const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *out)
{
    int32_t ix0 = ox * g->sw - g->pl;
    for (int32_t c0 = 0; c0 < g->oc; c0 += 16) {
        int32_t n = g->oc - c0 < 16 ? g->oc - c0 : 16, a[16];
        for (int32_t c = 0; c < n; c++)
            a[c] = bias[c0 + c];
        for (int32_t ky = 0; ky < g->kh; ky++)
            for (int32_t kx = 0; kx < g->kw; kx++) {
                int32_t ix = ix0 + kx * g->dw;
                const int8_t *wp = w + (int64_t)(ky * g->kw + kx) * g->oc + c0;
                if (rowp[ky] != NULL && ix >= 0 && ix < g->w) {
                    const int8_t *xp = rowp[ky] + (int64_t)ix * g->ic;
                    for (int32_t c = 0; c < n; c++)
                        a[c] = (int32_t)((uint32_t)a[c] + (uint32_t)((int32_t)xp[(c0 + c) / dm] * wp[c]));
                } else if (g->in_zp) {
                    for (int32_t c = 0; c < n; c++)
                        a[c] = (int32_t)((uint32_t)a[c] + (uint32_t)(g->in_zp * wp[c]));
                }
            }
        ert_requant_row(a, n, mult + c0, shift + c0, g->out_off, g->lo, g->hi, out + c0);
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
/* DEPTHWISE with one input channel (dm = oc) on VNNI: a convolution of K = kh*kw taps; each group
 * of 4 taps' input bytes is gathered in a register (one 4-byte load inside the input, bytes with
 * the zero point at the borders), biased to u8 and multiplied by the packed transposed filter
 * (wp: 16 channels x 4 taps per vpdpbusd). No patch, no scratch. */
ERT_TGT_VNNI static inline void ert_dw1_pixel_vnni(const ert_geom *g, const int8_t *const *rowp, int32_t ox,
                                                   const int8_t *wp, const ert_epi *e)
{
    int32_t k = g->kh * g->kw, k4 = (k + 3) / 4, ocb = (g->oc + 15) / 16, ix0 = ox * g->sw - g->pl;
    uint32_t zp = (uint8_t)((int8_t)g->in_zp ^ 0x80);
    for (int32_t ob0 = 0; ob0 < ocb; ob0 += 4) {
        __m512i a[4];
        const int8_t *wb[4];
        int nb = ocb - ob0 < 4 ? ocb - ob0 : 4;
        for (int b = 0; b < 4; b++) {
            a[b] = _mm512_setzero_si512();
            wb[b] = wp + (int64_t)(ob0 + b < ocb ? ob0 + b : ocb - 1) * k4 * 64;
        }
        int32_t ky = 0, kx = 0;
        for (int32_t kq = 0; kq < k4; kq++) {
            uint32_t v = 0;
            const int8_t *xr = ky < g->kh ? rowp[ky] : NULL;
            int32_t ix = ix0 + kx * g->dw;
            if (g->dw == 1 && kx + 3 < g->kw && xr != NULL && ix >= 0 && ix + 3 < g->w) {
                memcpy(&v, xr + ix, 4);
                v ^= 0x80808080u;
                kx += 4;
                if (kx == g->kw) { kx = 0; ky++; }
            } else {
                for (int r = 0; r < 4; r++) {
                    uint32_t byte = 0;
                    if (ky < g->kh) {
                        const int8_t *row = rowp[ky];
                        int32_t jx = ix0 + kx * g->dw;
                        byte = row != NULL && jx >= 0 && jx < g->w ? (uint8_t)(row[jx] ^ 0x80) : zp;
                        if (++kx == g->kw) { kx = 0; ky++; }
                    }
                    v |= byte << (8 * r);
                }
            }
                __m512i xv = _mm512_set1_epi32((int32_t)v);
            for (int b = 0; b < 4; b++) {
                if (b >= nb) break; /* only the real channel blocks (oc = 8 is one block) */
                a[b] = _mm512_dpbusd_epi32(a[b], xv, _mm512_loadu_si512(wb[b] + kq * 64));
            }
        }
        for (int b = 0; b < 4 && ob0 + b < ocb; b++)
            ert_gemm_out_vnni(a[b], ob0 + b, g->oc, e, 0);
    }
}
#endif

#endif
