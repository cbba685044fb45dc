/* DEPTHWISE with one input channel (ic == 1, any depth multiplier: oc = dm) on AVX-512 VNNI, the
 * whole op. Per output pixel it is a product of the K taps with an (oc, K) matrix, but oc is
 * small (8 for micro_speech, 8-32 for stems), so 16 channels per vector would leave lanes idle
 * and one pixel's taps form a single dependent chain. Here the 16 lanes are 16 consecutive
 * output pixels of a row and each output channel has its own accumulator (up to 16 independent
 * vpdpbusd chains): per filter row ky and 4-tap group gx (taps kx = 4gx .. 4gx+3, packed per
 * filter row, zero weights past kw: prepare/depthwise_conv_2d.py), one 64-byte masked load of
 * the input row (the zero point merged in outside [0, w): padding, no read), vpermd + vpshufb
 * put pixel p's 4 tap bytes (columns (ox0+p)*sw - pl + (4gx+r)*dw) in lane p, biased to u8
 * (x ^ 0x80), and each channel adds them times its 4 weights (a dword of the packed filter
 * broadcast: ert_gemm.h layout, wsum removes the bias). A padded filter row reads in_zp.
 * The requantized int8 vectors (channel-major) are transposed to the pixel-major output. */
#ifndef ERT_DW1_H
#define ERT_DW1_H

#include "ert_depthwise.h"

#if ERT_X86
/* lane q of 128 bits holds pixels 4q .. 4q+3: their bytes span 3*sw + 3*dw + 1 <= 16 */
ERT_INLINE int ert_dw1_ok(const ert_geom *g)
{
    return g->ic == 1 && g->sw + g->dw <= 5 && g->kw <= 64;
}

typedef struct {
    const ert_geom *g;
    const int8_t *wp;
    int32_t gpr, k4;              /* 4-tap groups per filter row; per 16-channel block of wp */
    __m512i perm, shuf, zp, zpb, flip;
} ert_dw1;

/* bytes [off, off + 64) of a row of w bytes that lie inside it */
ERT_INLINE __mmask64 ert_dw1_mask(int64_t off, int32_t w)
{
    int64_t lo = off < 0 ? -off : 0, hi = (int64_t)w - off;
    if (hi > 64) hi = 64;
    if (hi <= lo) return 0;
    uint64_t m = hi == 64 ? ~(uint64_t)0 : (((uint64_t)1 << hi) - 1u);
    return (__mmask64)(m & ~(((uint64_t)1 << lo) - 1u));
}

/* the accumulator arrays stay in registers only if their loops are unrolled before scalar
 * replacement */
#define ERT_UNROLL _Pragma("GCC unroll 16")

/* NB blocks of 16 pixels x NC channels (c0 .. c0+NC-1, inside one 16-channel block of wp) of
 * output row oy: the accumulators, without bias */
#define ERT_DW1_ACC(NB, NC)                                                                                            \
    ERT_VNNI_INLINE void ert_dw1_acc_##NB##x##NC(const ert_dw1 *s, const int8_t *xb, int32_t oy, int32_t ox0,          \
                                                  int32_t c0, __m512i out[NB][NC])                                     \
    {                                                                                                                  \
        const ert_geom *g = s->g;                                                                                      \
        __m512i a[NB][NC]; /* local: the caller's array would be stored back at every tap */                           \
        __mmask64 mk[NB][16];                                                                                          \
        int64_t col[NB][16];                                                                                           \
        ERT_UNROLL for (int b = 0; b < NB; b++) {                                                                      \
            for (int32_t gx = 0; gx < s->gpr; gx++) {                                                                  \
                col[b][gx] = (int64_t)(ox0 + 16 * b) * g->sw - g->pl + (int64_t)4 * gx * g->dw;                        \
                mk[b][gx] = ert_dw1_mask(col[b][gx], g->w);                                                            \
            }                                                                                                          \
            ERT_UNROLL for (int c = 0; c < NC; c++)                                                                    \
                a[b][c] = _mm512_setzero_si512();                                                                      \
        }                                                                                                              \
        const int8_t *wc = s->wp + (int64_t)(c0 >> 4) * s->k4 * 64 + (c0 & 15) * 4;                                    \
        for (int32_t ky = 0; ky < g->kh; ky++) {                                                                       \
            int32_t iy = oy * g->sh - g->pt + ky * g->dh;                                                              \
            const int8_t *row = iy >= 0 && iy < g->h ? xb + (int64_t)iy * g->w : NULL;                                 \
            for (int32_t gx = 0; gx < s->gpr; gx++) {                                                                  \
                const int8_t *wq = wc + (int64_t)(ky * s->gpr + gx) * 64;                                              \
                __m512i xv[NB];                                                                                        \
                ERT_UNROLL for (int b = 0; b < NB; b++) {                                                              \
                    if (row == NULL) {                                                                                 \
                        xv[b] = s->zpb;                                                                                \
                        continue;                                                                                      \
                    }                                                                                                  \
                    /* the address is formed as an integer: bytes outside the row are never read */                    \
                    __m512i v = _mm512_mask_loadu_epi8(s->zp, mk[b][gx], (const void *)((intptr_t)row + col[b][gx]));  \
                    v = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(s->perm, v), s->shuf);                            \
                    xv[b] = _mm512_xor_si512(v, s->flip);                                                              \
                }                                                                                                      \
                ERT_UNROLL for (int c = 0; c < NC; c++) {                                                              \
                    int32_t w4;                                                                                        \
                    memcpy(&w4, wq + 4 * c, 4);                                                                        \
                    __m512i wv = _mm512_set1_epi32(w4);                                                                \
                    ERT_UNROLL for (int b = 0; b < NB; b++)                                                            \
                        a[b][c] = _mm512_dpbusd_epi32(a[b][c], xv[b], wv);                                             \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        ERT_UNROLL for (int b = 0; b < NB; b++)                                                                        \
            ERT_UNROLL for (int c = 0; c < NC; c++)                                                                    \
                out[b][c] = a[b][c];                                                                                   \
    }
ERT_DW1_ACC(1, 16)
ERT_DW1_ACC(2, 16) /* named by ert_dw1_rows_16's dead branch only */
ERT_DW1_ACC(2, 8)
ERT_DW1_ACC(1, 8)
ERT_DW1_ACC(4, 4)
ERT_DW1_ACC(2, 4)
ERT_DW1_ACC(1, 4)
ERT_DW1_ACC(4, 2)
ERT_DW1_ACC(2, 2)
ERT_DW1_ACC(1, 2)
ERT_DW1_ACC(4, 1)
ERT_DW1_ACC(2, 1)
ERT_DW1_ACC(1, 1)
#undef ERT_DW1_ACC

/* v holds n pixels from pixel p on, nc bytes each: their first nv channels go to out + pixel*oc
 * (pixels below npx only) */
ERT_VNNI_INLINE void ert_dw1_put(__m128i v, int32_t p, int32_t n, int32_t nc, int8_t *out, int32_t oc, int32_t npx,
                                 int32_t nv)
{
    if (oc == nc && nv == nc && p + n <= npx) { /* the chunk is every channel: contiguous pixels */
        _mm_storeu_si128((__m128i *)(out + (int64_t)p * nc), v);
        return;
    }
    int8_t t[32];
    _mm_storeu_si128((__m128i *)t, v);
    for (int32_t i = 0; i < n && p + i < npx; i++) {
        int8_t *o = out + (int64_t)(p + i) * oc;
        if (nv == nc)
            memcpy(o, t + i * nc, (size_t)nc);
        else
            _mm_mask_storeu_epi8(o, (__mmask16)((1u << nv) - 1u), _mm_loadu_si128((const __m128i *)(t + i * nc)));
    }
}

/* r[c]: channel c of 16 pixels (int8) -> pixel-major bytes at out (pixel stride oc), nc in
 * {1, 2, 4, 8, 16}: log2(nc) rounds of byte, word, dword, qword interleaves */
ERT_VNNI_INLINE void ert_dw1_store(const __m128i *r, int nc, int8_t *out, int32_t oc, int32_t npx, int32_t nv)
{
    if (nc == 1) {
        ert_dw1_put(r[0], 0, 16, 1, out, oc, npx, nv);
        return;
    }
    __m128i a[16], b[16];
    for (int i = 0; i < nc / 2; i++) { /* a[i]: pixels 0-7, a[nc/2 + i]: 8-15; channels 2i, 2i+1 */
        a[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
        a[nc / 2 + i] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
    }
    if (nc == 2) {
        ert_dw1_put(a[0], 0, 8, 2, out, oc, npx, nv);
        ert_dw1_put(a[1], 8, 8, 2, out, oc, npx, nv);
        return;
    }
    for (int h = 0; h < 2; h++) /* b[h*nc/2 + j]: pixels 8h .. 8h+3, b[.. + nc/4 + j]: 8h+4 ..; channels 4j .. 4j+3 */
        for (int j = 0; j < nc / 4; j++) {
            const __m128i *s = a + h * (nc / 2);
            b[h * (nc / 2) + j] = _mm_unpacklo_epi16(s[2 * j], s[2 * j + 1]);
            b[h * (nc / 2) + nc / 4 + j] = _mm_unpackhi_epi16(s[2 * j], s[2 * j + 1]);
        }
    if (nc == 4) {
        for (int i = 0; i < 4; i++)
            ert_dw1_put(b[i], 4 * i, 4, 4, out, oc, npx, nv);
        return;
    }
    for (int q = 0; q < 4; q++) { /* quarter q: pixels 4q .. 4q+3 in b[q*nc/4 ..] */
        const __m128i *s = b + q * (nc / 4);
        if (nc == 8) {
            ert_dw1_put(_mm_unpacklo_epi32(s[0], s[1]), 4 * q, 2, 8, out, oc, npx, nv);
            ert_dw1_put(_mm_unpackhi_epi32(s[0], s[1]), 4 * q + 2, 2, 8, out, oc, npx, nv);
            continue;
        }
        __m128i c0 = _mm_unpacklo_epi32(s[0], s[1]), c1 = _mm_unpacklo_epi32(s[2], s[3]);
        __m128i c2 = _mm_unpackhi_epi32(s[0], s[1]), c3 = _mm_unpackhi_epi32(s[2], s[3]);
        ert_dw1_put(_mm_unpacklo_epi64(c0, c1), 4 * q, 1, 16, out, oc, npx, nv);
        ert_dw1_put(_mm_unpackhi_epi64(c0, c1), 4 * q + 1, 1, 16, out, oc, npx, nv);
        ert_dw1_put(_mm_unpacklo_epi64(c2, c3), 4 * q + 2, 1, 16, out, oc, npx, nv);
        ert_dw1_put(_mm_unpackhi_epi64(c2, c3), 4 * q + 3, 1, 16, out, oc, npx, nv);
    }
}

/* every output row of channels c0 .. c0+NC-1 (the first nv real) in tiles of NB blocks of 16
 * pixels (a row's tail: 2 blocks or 1) */
#define ERT_DW1_ROWS(NB, NC)                                                                                           \
    ERT_TGT_VNNI static void ert_dw1_rows_##NC(const ert_dw1 *s, const ert_oq *q, const int8_t *x, int8_t *y,          \
                                               int32_t c0, int32_t nv)                                                 \
    {                                                                                                                  \
        const ert_geom *g = s->g;                                                                                      \
        for (int32_t b = 0; b < g->nb; b++)                                                                            \
            for (int32_t oy = 0; oy < g->oh; oy++) {                                                                   \
                const int8_t *xb = x + (int64_t)b * g->h * g->w;                                                       \
                int8_t *yr = y + ((int64_t)b * g->oh + oy) * g->ow * g->oc + c0;                                       \
                for (int32_t ox0 = 0; ox0 < g->ow;) {                                                                  \
                    __m512i a[NB][NC];                                                                                 \
                    int32_t left = g->ow - ox0, nbk = NB;                                                              \
                    if (left <= 16) {                                                                                  \
                        ert_dw1_acc_1x##NC(s, xb, oy, ox0, c0, a);                                                     \
                        nbk = 1;                                                                                       \
                    } else if (NB > 2 && left <= 32) {                                                                 \
                        ert_dw1_acc_2x##NC(s, xb, oy, ox0, c0, a);                                                     \
                        nbk = 2;                                                                                       \
                    } else {                                                                                           \
                        ert_dw1_acc_##NB##x##NC(s, xb, oy, ox0, c0, a);                                                \
                    }                                                                                                  \
                    for (int k = 0; k < nbk; k++) {                                                                    \
                        int32_t o = ox0 + 16 * k, npx = g->ow - o < 16 ? g->ow - o : 16;                               \
                        if (npx <= 0) break;                                                                           \
                        __m128i r[NC];                                                                                 \
                        for (int c = 0; c < NC; c++)                                                                   \
                            r[c] = ert_oq_int8(a[k][c], &q[c], g->out_off, g->lo, g->hi, 0);                           \
                        ert_dw1_store(r, NC, yr + (int64_t)o * g->oc, g->oc, npx, nv);                                 \
                    }                                                                                                  \
                    ox0 += 16 * nbk;                                                                                   \
                }                                                                                                      \
            }                                                                                                          \
    }
ERT_DW1_ROWS(1, 16)
ERT_DW1_ROWS(2, 8)
ERT_DW1_ROWS(4, 4)
ERT_DW1_ROWS(4, 2)
ERT_DW1_ROWS(4, 1)
#undef ERT_DW1_ROWS

/* The op (ert_dw1_ok): x the input, wp / wsum the packed filter (per filter row), y the output. */
ERT_TGT_VNNI static void ert_dw1_vnni(const ert_geom *g, const int8_t *x, const int8_t *wp, const int32_t *bias,
                                      const int32_t *wsum, const int32_t *mult, const int32_t *shift, int8_t *y)
{
    ert_dw1 s;
    int32_t pi[16];
    int8_t sb[64];
    s.g = g;
    s.wp = wp;
    s.gpr = (g->kw + 3) / 4;
    s.k4 = g->kh * s.gpr;
    for (int i = 0; i < 16; i++) /* 128-bit lane q starts at pixel 4q: byte 4q*sw, dword q*sw */
        pi[i] = (i / 4) * g->sw + i % 4;
    for (int i = 0; i < 64; i++) /* byte 4p + r of a lane: its pixel p's tap r */
        sb[i] = (int8_t)(((i % 16) / 4) * g->sw + (i % 4) * g->dw);
    s.perm = _mm512_loadu_si512(pi);
    s.shuf = _mm512_loadu_si512(sb);
    s.zp = _mm512_set1_epi8((char)g->in_zp);
    s.flip = _mm512_set1_epi8((char)0x80);
    s.zpb = _mm512_xor_si512(s.zp, s.flip);
    for (int32_t c0 = 0; c0 < g->oc;) {
        int32_t rem = g->oc - c0, nc = rem > 8 ? 16 : (rem > 4 ? 8 : (rem > 2 ? 4 : rem));
        int32_t nv = rem < nc ? rem : nc;
        ert_oq q[16];
        for (int32_t c = 0; c < nc; c++) { /* channels past oc: zeros, never stored */
            int32_t o = c0 + c, ok = c < nv;
            q[c].bw = _mm512_set1_epi32(ok ? (int32_t)((uint32_t)bias[o] - (uint32_t)wsum[o]) : 0);
            q[c].m = _mm512_set1_epi32(ok ? mult[o] : 0);
            ert_oq_shifts(&q[c], _mm512_set1_epi32(ok ? shift[o] : 0));
        }
        switch (nc) {
        case 16: ert_dw1_rows_16(&s, q, x, y, c0, nv); break;
        case 8: ert_dw1_rows_8(&s, q, x, y, c0, nv); break;
        case 4: ert_dw1_rows_4(&s, q, x, y, c0, nv); break;
        case 2: ert_dw1_rows_2(&s, q, x, y, c0, nv); break;
        default: ert_dw1_rows_1(&s, q, x, y, c0, nv); break;
        }
        c0 += nc;
    }
}
#endif

#if ERT_VEC8
/* The other paths (portable, AVX2, NEON; ert_dw1_v8_ok: oc a multiple of 8, K <= 1024): four
 * output pixels at a time, their K taps gathered into local patches (in_zp where padded), then
 * per 8 channels one pass over k: the filter row's 8 weights widened once, each pixel's tap
 * broadcast, products in int16 (exact), sums in wrapping uint32 (ert_depthwise.h's GNU C
 * vectors). Four pixels share each weight load and the loop has no per-tap branches. */
#define ERT_DW1_V8_K 1024

ERT_INLINE int ert_dw1_v8_ok(const ert_geom *g)
{
    return g->ic == 1 && g->oc % 8 == 0 && (int64_t)g->kh * g->kw <= ERT_DW1_V8_K;
}

/* the K taps of pixel ox of output row oy, batch input xb */
ERT_INLINE void ert_dw1_patch(const ert_geom *g, const int8_t *xb, int32_t oy, int32_t ox, int8_t *pt)
{
    int32_t ix0 = ox * g->sw - g->pl, inside = ix0 >= 0 && ix0 + (g->kw - 1) * g->dw < g->w;
    for (int32_t ky = 0; ky < g->kh; ky++, pt += g->kw) {
        int32_t iy = oy * g->sh - g->pt + ky * g->dh;
        if (iy < 0 || iy >= g->h) {
            memset(pt, (int)(uint8_t)(int8_t)g->in_zp, (size_t)g->kw);
            continue;
        }
        const int8_t *row = xb + (int64_t)iy * g->w;
        if (inside && g->dw == 1) {
            memcpy(pt, row + ix0, (size_t)g->kw);
            continue;
        }
        for (int32_t kx = 0; kx < g->kw; kx++) {
            int32_t ix = ix0 + kx * g->dw;
            pt[kx] = ix >= 0 && ix < g->w ? row[ix] : (int8_t)g->in_zp;
        }
    }
}

ERT_INLINE void ert_dw1_v8(const ert_geom *g, const int8_t *x, const int8_t *w, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *y)
{
    const int32_t k = g->kh * g->kw, oc = g->oc;
    int8_t pt[4][ERT_DW1_V8_K];
    for (int32_t b = 0; b < g->nb; b++)
        for (int32_t oy = 0; oy < g->oh; oy++) {
            const int8_t *xb = x + (int64_t)b * g->h * g->w;
            int8_t *yr = y + ((int64_t)b * g->oh + oy) * g->ow * oc;
            for (int32_t ox0 = 0; ox0 < g->ow; ox0 += 4) {
                int32_t np = g->ow - ox0 < 4 ? g->ow - ox0 : 4;
                for (int32_t p = 0; p < 4; p++) /* pixels past the row: a copy of the last, not stored */
                    ert_dw1_patch(g, xb, oy, ox0 + (p < np ? p : np - 1), pt[p]);
                for (int32_t c0 = 0; c0 < oc; c0 += 8) {
                    ert_v8u a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                    const int8_t *wk = w + c0;
                    for (int32_t t = 0; t < k; t++, wk += oc) {
                        ert_v8h wv = ert_v8_load(wk);
                        a0 += ERT_V8_WIDEN(((ert_v8h){0} + (int16_t)pt[0][t]) * wv);
                        a1 += ERT_V8_WIDEN(((ert_v8h){0} + (int16_t)pt[1][t]) * wv);
                        a2 += ERT_V8_WIDEN(((ert_v8h){0} + (int16_t)pt[2][t]) * wv);
                        a3 += ERT_V8_WIDEN(((ert_v8h){0} + (int16_t)pt[3][t]) * wv);
                    }
                    int32_t r[4][8];
                    for (int32_t c = 0; c < 8; c++) {
                        uint32_t bc = (uint32_t)bias[c0 + c];
                        r[0][c] = (int32_t)(a0[c] + bc); r[1][c] = (int32_t)(a1[c] + bc);
                        r[2][c] = (int32_t)(a2[c] + bc); r[3][c] = (int32_t)(a3[c] + bc);
                    }
                    for (int32_t p = 0; p < np; p++)
                        ert_requant_row(r[p], 8, mult + c0, shift + c0, g->out_off, g->lo, g->hi,
                                        yr + (int64_t)(ox0 + p) * oc + c0);
                }
            }
        }
}
#endif

#endif
