/* Shared loops of the convolution kernels (conv_2d.c, conv_add.c, depthwise_conv_2d.c,
 * ds_conv.c): the geometry record, its validation, and the per-output-pixel accumulation. The
 * input zero point is folded into the bias at pack time over all taps, so a padded tap adds
 * in_zp * w (cancelling its share of the fold), exactly the reference's skipped tap. */
#ifndef ERT_CONV_H
#define ERT_CONV_H

#include "ert_fixedpoint.h"
#include "ert_simd.h"
#include "ert_gemm.h"

/* prm[0..18]: nb, h, w, ic, oc, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi */
typedef struct {
    int32_t nb, h, w, ic, oc, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi;
} ert_geom;

#define ERT_GEOM_PRMS 19

ERT_INLINE void ert_geom_load(ert_geom *g, const int32_t *p)
{
    g->nb = p[0]; g->h = p[1]; g->w = p[2]; g->ic = p[3]; g->oc = p[4]; g->kh = p[5]; g->kw = p[6];
    g->oh = p[7]; g->ow = p[8]; g->sh = p[9]; g->sw = p[10]; g->dh = p[11]; g->dw = p[12];
    g->pt = p[13]; g->pl = p[14]; g->in_zp = p[15]; g->out_off = p[16]; g->lo = p[17]; g->hi = p[18];
}

/* Every coordinate the loops form stays far inside int32 and every tensor below 2^24 elements:
 * 0 on success, and the byte sizes of input, output and one pixel's taps. */
static inline int ert_geom_check(const int32_t *p, int64_t *x_bytes, int64_t *y_bytes, int64_t *taps)
{
    for (int i = 0; i < 9; i++)
        if (!ERT_DIM_OK(p[i])) return -1;
    for (int i = 9; i < 13; i++)
        if (p[i] < 1 || p[i] > (1 << 16)) return -1;
    if (p[13] < 0 || p[13] > (1 << 16) || p[14] < 0 || p[14] > (1 << 16)) return -1;
    if (p[15] < -128 || p[15] > 127) return -1; /* the input zero point: patches hold it as int8 */
    int64_t nb = p[0], h = p[1], w = p[2], ic = p[3], oc = p[4], kh = p[5], kw = p[6], oh = p[7], ow = p[8];
    if (oh * p[9] + kh * p[11] + p[13] > (1 << 30) || ow * p[10] + kw * p[12] + p[14] > (1 << 30)) return -1;
    *x_bytes = nb * h * w * ic;
    *y_bytes = nb * oh * ow * oc;
    *taps = kh * kw;
    if (*x_bytes > ERT_MAX_DIM || *y_bytes > ERT_MAX_DIM || kh * kw > ERT_MAX_DOT) return -1;
    return 0;
}

/* Valid kx range [*lo, *hi) of output column ox for stride-1-dilation taps (dw == 1). */
ERT_INLINE void ert_kx_range(const ert_geom *g, int32_t ix0, int32_t *lo, int32_t *hi)
{
    int32_t a = ix0 < 0 ? -ix0 : 0;
    int32_t b = g->w - ix0;
    if (b > g->kw) b = g->kw;
    if (b < a) b = a;
    *lo = a; *hi = b;
}

#define ERT_R16(n) (((int64_t)(n) + 15) / 16 * 16)

/* Scratch of the convolutions: ERT_GEMM_ROWS(oc) patches of K bytes (16-aligned), or none for a
 * 1x1 convolution whose every tap lies inside the input (its rows are read in place). */
ERT_INLINE int ert_direct_1x1(const int32_t *p)
{
    return p[5] == 1 && p[6] == 1 && p[13] == 0 && p[14] == 0 && (int64_t)(p[7] - 1) * p[9] < p[1] &&
           (int64_t)(p[8] - 1) * p[10] < p[2];
}
#define ERT_PATCH_SCRATCH(p, k, oc) (ert_direct_1x1(p) ? 0 : ERT_GEMM_ROWS(oc) * ERT_R16(k))

/* The K = kh*kw*ic input bytes output pixel (oy, ox) multiplies, in the filter's (ky, kx, ic)
 * order, padded taps holding in_zp (the reference's skipped taps, given the folded bias): a
 * pointer into the input itself for a 1x1 tap inside it, else the row built in patch. */
ERT_INLINE void ert_bias_row(int8_t *d, int32_t n)
{
    uint8_t *u = (uint8_t *)d;
    for (int32_t i = 0; i < n; i++)
        u[i] ^= 0x80u;
}

ERT_INLINE const int8_t *ert_patch_plain(const ert_geom *g, const int8_t *xb, int32_t oy, int32_t ox, int8_t *patch)
{
    int32_t ic = g->ic, iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl, run = g->kw * ic;
    int zp = (int)(uint8_t)(int8_t)g->in_zp;
    if (g->kh == 1 && g->kw == 1 && iy0 >= 0 && iy0 < g->h && ix0 >= 0 && ix0 < g->w)
        return xb + ((int64_t)iy0 * g->w + ix0) * ic;
    int8_t *d = patch;
    int32_t klo = 0, khi = g->kw;
    if (g->dw == 1) ert_kx_range(g, ix0, &klo, &khi);
    for (int32_t ky = 0; ky < g->kh; ky++, d += run) {
        int32_t iy = iy0 + ky * g->dh;
        if (iy < 0 || iy >= g->h) {
            memset(d, zp, (size_t)run);
            continue;
        }
        const int8_t *xrow = xb + (int64_t)iy * g->w * ic;
        if (g->dw == 1) {
            memset(d, zp, (size_t)(klo * ic));
            memcpy(d + klo * ic, xrow + (int64_t)(ix0 + klo) * ic, (size_t)((khi - klo) * ic));
            memset(d + khi * ic, zp, (size_t)((g->kw - khi) * ic));
            continue;
        }
        for (int32_t kx = 0; kx < g->kw; kx++) {
            int32_t ix = ix0 + kx * g->dw;
            if (ix < 0 || ix >= g->w)
                memset(d + kx * ic, zp, (size_t)ic);
            else
                memcpy(d + kx * ic, xrow + (int64_t)ix * ic, (size_t)ic);
        }
    }
    return patch;
}

#if ERT_X86
/* d[0..n) = s[0..n) ^ 0x80 and d[0..n) = v: masked 64-byte moves (no libc call per tap run) */
ERT_VNNI_INLINE void ert_copy_bias_vnni(int8_t *d, const int8_t *s, int32_t n)
{
    const __m512i k80 = _mm512_set1_epi8((char)0x80);
    for (int32_t i = 0; i < n; i += 64) {
        int32_t r = n - i;
        __mmask64 m = r >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << r) - 1);
        _mm512_mask_storeu_epi8(d + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, s + i), k80));
    }
}

ERT_VNNI_INLINE void ert_fill_vnni(int8_t *d, int8_t v, int32_t n)
{
    const __m512i f = _mm512_set1_epi8(v);
    for (int32_t i = 0; i < n; i += 64) {
        int32_t r = n - i;
        __mmask64 m = r >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << r) - 1);
        _mm512_mask_storeu_epi8(d + i, m, f);
    }
}

/* ert_patch_plain's row, biased (x ^ 0x80) for the VNNI product, built with masked moves */
ERT_TGT_VNNI static inline const int8_t *ert_patch_vnni(const ert_geom *g, const int8_t *xb, int32_t oy, int32_t ox,
                                                        int8_t *d)
{
    int32_t ic = g->ic, iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl, run = g->kw * ic;
    int8_t zp = (int8_t)(g->in_zp ^ 0x80);
    int32_t klo = 0, khi = g->kw;
    if (g->dw == 1) ert_kx_range(g, ix0, &klo, &khi);
    int8_t *patch = d;
    for (int32_t ky = 0; ky < g->kh; ky++, d += run) {
        int32_t iy = iy0 + ky * g->dh;
        if (iy < 0 || iy >= g->h) {
            ert_fill_vnni(d, zp, run);
            continue;
        }
        const int8_t *xrow = xb + (int64_t)iy * g->w * ic;
        if (g->dw == 1) {
            if (klo) ert_fill_vnni(d, zp, klo * ic);
            ert_copy_bias_vnni(d + klo * ic, xrow + (int64_t)(ix0 + klo) * ic, (khi - klo) * ic);
            if (khi < g->kw) ert_fill_vnni(d + khi * ic, zp, (g->kw - khi) * ic);
            continue;
        }
        for (int32_t kx = 0; kx < g->kw; kx++) {
            int32_t ix = ix0 + kx * g->dw;
            if (ix < 0 || ix >= g->w)
                ert_fill_vnni(d + kx * ic, zp, ic);
            else
                ert_copy_bias_vnni(d + kx * ic, xrow + (int64_t)ix * ic, ic);
        }
    }
    return patch;
}
#endif

/* biased (ERT_BIASED): the row goes to the patch as x ^ 0x80, for the VNNI product */
ERT_INLINE const int8_t *ert_patch(const ert_geom *g, const int8_t *xb, int32_t oy, int32_t ox, int8_t *patch,
                                   int biased)
{
#if ERT_X86
    if (biased) return ert_patch_vnni(g, xb, oy, ox, patch);
#endif
    const int8_t *r = ert_patch_plain(g, xb, oy, ox, patch);
    if (!biased) return r;
    int32_t k = g->kh * g->kw * g->ic;
    if (r != patch) memcpy(patch, r, (size_t)k);
    ert_bias_row(patch, k);
    return patch;
}

/* Up to `want` next output pixels (row-major over batch, oy, ox from *pos): their rows into xr,
 * patches at patch + i * pstride; returns how many. */
typedef struct {
    int32_t b, oy, ox;
} ert_pix;

ERT_INLINE int32_t ert_next_pixels(const ert_geom *g, ert_pix *pos, const int8_t *x, int8_t *patch, int64_t pstride,
                                   const int8_t **xr, int32_t want, int biased)
{
    int32_t r = 0;
    while (r < want && pos->b < g->nb) {
        xr[r] = ert_patch(g, x + (int64_t)pos->b * g->h * g->w * g->ic, pos->oy, pos->ox, patch + r * pstride, biased);
        r++;
        if (++pos->ox == g->ow) {
            pos->ox = 0;
            if (++pos->oy == g->oh) {
                pos->oy = 0;
                pos->b++;
            }
        }
    }
    return r;
}

#endif
