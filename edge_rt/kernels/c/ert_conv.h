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

/* The VNNI convolution's input window (ert_conv_win_vnni): for R output rows at a time, their
 * (R-1)*sh + (kh-1)*dh + 1 input rows over the padded columns -pl .. (ow-1)*sw + kw-1 - pl,
 * biased (x ^ 0x80, in_zp ^ 0x80 outside the input), built once; each output pixel's kh segments
 * of kw*ic bytes are then read in place (no per-pixel patch), in ceil(kw*ic / 4) groups of 4
 * bytes: the weights are packed for it with each filter row padded to a multiple of 4
 * (ert_win_k; the bytes read past a segment meet zero weights). Taken when dw == 1 and the
 * window fits ERT_WIN_MAX bytes; R makes R*ow a multiple of the product's tile height when that
 * fits too, else 1. */
#define ERT_WIN_MAX 16384

static inline int64_t ert_win_bytes(const int32_t *p, int64_t r)
{
    int64_t rows = (r - 1) * p[9] + (int64_t)(p[5] - 1) * p[11] + 1, cols = (int64_t)(p[8] - 1) * p[10] + p[6];
    if (rows > ERT_WIN_MAX || cols * p[3] > ERT_WIN_MAX) return ERT_WIN_MAX + 1;
    return rows * cols * p[3] + 4; /* + 4: a segment's last group may read 3 bytes past the last row */
}

/* output rows per window, 0: no window (prm: the CONV_2D geometry, already checked) */
static inline int32_t ert_win_rows(const int32_t *p)
{
    if (ert_direct_1x1(p) || p[12] != 1) return 0;
    int32_t t = ERT_GEMM_ROWS(p[4]), a = t, b = p[8];
    while (b) { int32_t c = a % b; a = b; b = c; }
    int32_t r = t / a < p[7] ? t / a : p[7];
    if (ert_win_bytes(p, r) <= ERT_WIN_MAX) return r;
    return ert_win_bytes(p, 1) <= ERT_WIN_MAX ? 1 : 0;
}

/* The K of the weights' VNNI packing: kh filter rows of kw*ic bytes each padded to a multiple
 * of 4 when the convolution runs over its window, else K = kh*kw*ic (prepare: c_conv_weights). */
ERT_INLINE int64_t ert_win_k(const int32_t *p)
{
    int64_t row = (int64_t)p[6] * p[3];
    return ert_win_rows(p) ? (int64_t)p[5] * ((row + 3) / 4 * 4) : (int64_t)p[5] * row;
}

/* Scratch of CONV_2D and CONV_2D_ADD: the patches, or the window if larger (one buffer). */
ERT_INLINE int64_t ert_conv_scratch(const int32_t *p, int64_t k, int32_t oc)
{
    int64_t a = ERT_PATCH_SCRATCH(p, k, oc);
    int32_t r = ert_win_rows(p);
    int64_t b = r ? ert_win_bytes(p, r) : 0;
    return a > b ? a : b;
}

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


#if ERT_X86
/* The convolution over its input window (ert_win_rows) on VNNI: per R output rows, the window
 * is built (biased), then the rows' pixels go through the segmented product P at a time. */
ERT_TGT_VNNI static void ert_conv_win_vnni(const ert_geom *g, int32_t R, const int8_t *x, int8_t *win, const int8_t *wp,
                                           ert_epi et, int8_t *y, const int8_t *skip)
{
    const int32_t ic = g->ic, cols = (g->ow - 1) * g->sw + g->kw, rb = cols * ic, tile = ERT_GEMM_ROWS(g->oc);
    const int8_t zp = (int8_t)(g->in_zp ^ 0x80);
    const int32_t lo = g->pl < cols ? g->pl : cols;
    int32_t hi = g->pl + g->w < cols ? g->pl + g->w : cols;
    if (hi < lo) hi = lo;
    for (int32_t b = 0; b < g->nb; b++) {
        const int8_t *xb = x + (int64_t)b * g->h * g->w * ic;
        int64_t ob = (int64_t)b * g->oh * g->ow;
        for (int32_t oy0 = 0; oy0 < g->oh; oy0 += R) {
            int32_t nr = g->oh - oy0 < R ? g->oh - oy0 : R, rin = (nr - 1) * g->sh + (g->kh - 1) * g->dh + 1;
            for (int32_t r = 0; r < rin; r++) {
                int32_t iy = oy0 * g->sh - g->pt + r;
                int8_t *d = win + (int64_t)r * rb;
                if (iy < 0 || iy >= g->h) {
                    ert_fill_vnni(d, zp, rb);
                    continue;
                }
                if (lo) ert_fill_vnni(d, zp, lo * ic);
                ert_copy_bias_vnni(d + lo * ic, xb + ((int64_t)iy * g->w + (lo - g->pl)) * ic, (hi - lo) * ic);
                if (hi < cols) ert_fill_vnni(d + hi * ic, zp, (cols - hi) * ic);
            }
            int32_t npix = nr * g->ow;
            for (int32_t q0 = 0; q0 < npix; q0 += tile) {
                int32_t n = npix - q0 < tile ? npix - q0 : tile;
                const int8_t *xr[16], *sr[16];
                int8_t *yr[16];
                for (int32_t i = 0; i < n; i++) {
                    int32_t pix = q0 + i, oy = pix / g->ow, ox = pix % g->ow;
                    int64_t at = (ob + (int64_t)oy0 * g->ow + pix) * g->oc;
                    xr[i] = win + (int64_t)oy * g->sh * rb + (int64_t)ox * g->sw * ic;
                    yr[i] = y + at;
                    sr[i] = skip ? skip + at : NULL;
                }
                et.yr = yr;
                et.sr = sr;
                ert_gemm_vnni_seg(xr, n, g->kh, (g->kw * ic + 3) / 4, (int64_t)g->dh * rb, wp, g->oc, &et);
            }
        }
    }
}
#endif

/* CONV_2D and CONV_2D_ADD: p = x, filter, folded bias, mult, shift, y, [skip,] scratch, wp, wsum;
 * add = ADD's 12 params (CONV_2D_ADD, first: the convolution feeds ADD's first input) or NULL. */
ERT_INLINE void ert_conv_run(const ert_op *op, int lvl, const int32_t *add, int first)
{
    ert_geom g;
    ert_geom_load(&g, op->prm);
    int j = add != NULL; /* CONV_2D_ADD has the skip at p[6]: the rest shifts by one */
    const int8_t *x = (const int8_t *)op->p[0], *wt = (const int8_t *)op->p[1];
    const int32_t *bias = (const int32_t *)op->p[2], *mult = (const int32_t *)op->p[3];
    const int32_t *shift = (const int32_t *)op->p[4];
    int8_t *y = (int8_t *)op->p[5];
    const int8_t *skip = add ? (const int8_t *)op->p[6] : NULL;
    int8_t *patch = (int8_t *)op->p[6 + j];
    const int8_t *wp = (const int8_t *)op->p[7 + j];
    const int32_t *wsum = (const int32_t *)op->p[8 + j];
    ert_epi e = {bias, wsum, mult, shift, g.out_off, g.lo, g.hi, add, first, NULL, NULL};
#if ERT_X86
    if (lvl == ERT_LVL_VNNI) {
        int32_t r = ert_win_rows(op->prm);
        if (r) {
            ert_conv_win_vnni(&g, r, x, patch, wp, e, y, skip);
            return;
        }
    }
#endif
    int32_t k = g.kh * g.kw * g.ic, rows = ERT_GEMM_ROWS(g.oc);
    int direct = ert_direct_1x1(op->prm); /* rows read in place (unbiased), no patch */
    int biased = ERT_BIASED(lvl) && !direct;
    ert_pix pos = {0, 0, 0};
    for (int64_t done = 0;;) {
        const int8_t *xr[16], *sr[16];
        int8_t *yr[16];
        int32_t r = ert_next_pixels(&g, &pos, x, patch, ERT_R16(k), xr, rows, biased);
        if (!r) break;
        for (int32_t q = 0; q < r; q++, done++) {
            yr[q] = y + done * g.oc;
            sr[q] = skip ? skip + done * g.oc : NULL;
        }
        e.yr = yr;
        e.sr = sr;
        ert_gemm(lvl, xr, r, k, wt, wp, g.oc, &e, biased);
    }
}

#endif
