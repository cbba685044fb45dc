/* DS_CONV_2D (depthwise-separable fusion), streamed a few rows at a time as kernels/ref/ds_conv.py:
 * 1. depthwise output rows oy .. oy+R-1 are computed into an int8 band (as DEPTHWISE_CONV_2D
 *    stores them; biased to u8 when they feed the VNNI product);
 * 2. the 1x1 convolution turns the band into those output rows: R*ow pixels, so the product's
 *    tiles are full (R = ds_band_rows: R*ow a multiple of the tile height when the band fits).
 * In place (output planned over the input: same shape, stride 1, checked by extents), writing
 * output row oy destroys input row oy, which later rows still read (up to pad_top rows back):
 * rows oy .. oy+R-1 are first saved in a ring of max(pad_top, 1) rows (in order: the last
 * pad_top of them stay), and reads of rows already overwritten go to the ring. Scratch:
 * [ring, 16-aligned, in place only][band R*ow*oc + 3, 16-aligned]. Not in place, the output may
 * still lie partly over the input (the planner's row overlap): rows oy .. oy+R-1 are written
 * from the band alone, after every input row they need was read. */
#include "ert_depthwise.h"

#define PW_AT (ERT_GEOM_PRMS + 1)
#define R16(n) (((n) + 15) / 16 * 16)
#define DS_BAND_MAX 16384

/* depthwise rows per band (prm checked by the extents) */
static inline int32_t ds_band_rows(const int32_t *p)
{
    int32_t t = ERT_GEMM_ROWS(p[PW_AT]), a = t, b = p[8];
    while (b) { int32_t c = a % b; a = b; b = c; }
    int32_t r = t / a < p[7] ? t / a : p[7];
    return (int64_t)r * p[8] * p[4] <= DS_BAND_MAX ? r : 1;
}

int ert_ds_conv_extents(const int32_t *p, int32_t np, int64_t *e)
{
    if (np != PW_AT + 5 || ert_depthwise_conv_2d_extents(p, ERT_GEOM_PRMS + 1, e) != 0) return -1;
    int64_t w = p[2], ic = p[3], c = p[4], kh = p[5], kw = p[6], oh = p[7], ow = p[8], poc = p[PW_AT];
    int64_t inplace = p[PW_AT + 4], rows = p[13] > 0 ? p[13] : 1;
    if (!ERT_DIM_OK(poc) || c > ERT_MAX_DOT || poc * c > (int64_t)1 << 30) return -1;
    if (inplace != 0 && inplace != 1) return -1;
    if (rows * w * ic > ERT_MAX_DIM) return -1;
    if (inplace && (oh != p[1] || ow != w || poc != ic || p[9] != 1)) return -1;
    e[0] = p[0] * p[1] * w * ic;
    e[1] = kh * kw * c; e[2] = e[3] = e[4] = 4 * c;
    e[5] = poc * c; e[6] = e[7] = e[8] = 4 * poc;
    e[9] = p[0] * oh * ow * poc;
    /* the band is read in 4-byte groups by the VNNI product: R16 covers the last pixel's group */
    e[10] = (inplace ? R16(rows * w * ic) : 0) + R16(ds_band_rows(p) * ow * c + 3);
    e[11] = ERT_WP_BYTES(poc, c); e[12] = ERT_WSUM_BYTES(poc);
    return 0;
}

/* the input rows of depthwise output row oy (NULL: padded); rows before oy0 (the band's first
 * row) were overwritten by an in-place write and are read from the ring */
ERT_INLINE void ds_rows(const ert_geom *g, const int8_t *xb, const int8_t *ring, int32_t rows, int32_t row, int inplace,
                        int32_t oy0, int32_t oy, const int8_t **rowp)
{
    for (int32_t ky = 0; ky < g->kh; ky++) {
        int32_t iy = oy * g->sh - g->pt + ky * g->dh;
        rowp[ky] = !(iy >= 0 && iy < g->h) ? NULL : (inplace && iy < oy0) ? ring + (int64_t)(iy % rows) * row
                                                                            : xb + (int64_t)iy * row;
    }
}

ERT_INLINE void ds_body(const ert_op *op, int lvl)
{
    ert_geom g;
    ert_geom_load(&g, op->prm);
    const int32_t *pp = op->prm + PW_AT;
    int32_t dm = op->prm[ERT_GEOM_PRMS], poc = pp[0], p_off = pp[1], p_lo = pp[2], p_hi = pp[3], inplace = pp[4];
    const int8_t *x = (const int8_t *)op->p[0], *dww = (const int8_t *)op->p[1];
    const int32_t *db = (const int32_t *)op->p[2], *dmul = (const int32_t *)op->p[3], *dsh = (const int32_t *)op->p[4];
    const int8_t *pww = (const int8_t *)op->p[5];
    const int32_t *pb = (const int32_t *)op->p[6], *pmul = (const int32_t *)op->p[7], *psh = (const int32_t *)op->p[8];
    int8_t *y = (int8_t *)op->p[9];
    const int8_t *pwp = (const int8_t *)op->p[11];
    const int32_t *pwsum = (const int32_t *)op->p[12];
    int32_t rows = g.pt > 0 ? g.pt : 1, row = g.w * g.ic;
    int8_t *ring = (int8_t *)op->p[10];
    int8_t *band = ring + (inplace ? R16(rows * row) : 0);
    int32_t prow = ERT_GEMM_ROWS(poc);
    const int8_t *rowp[64]; /* kh <= 64 (extents) */
    const int32_t R = ds_band_rows(op->prm), brow = g.ow * g.oc;
    for (int32_t b = 0; b < g.nb; b++) {
        const int8_t *xb = x + (int64_t)b * g.h * row;
        for (int32_t oy0 = 0; oy0 < g.oh; oy0 += R) {
            int32_t nr = g.oh - oy0 < R ? g.oh - oy0 : R;
#if ERT_X86
            if (lvl == ERT_LVL_VNNI && ert_dw_row_ok(&g, dm)) { /* the band's rows in one call */
                const int8_t *rows_[ERT_DW_TAPS * 16]; /* kh <= ERT_DW_TAPS, nr <= 16 */
                for (int32_t r = 0; r < nr; r++)
                    ds_rows(&g, xb, ring, rows, row, inplace, oy0, oy0 + r, rows_ + r * g.kh);
                ert_dw_row_vnni(&g, rows_, nr, dww, db, dmul, dsh, band, 1);
            } else
#endif
            for (int32_t r = 0; r < nr; r++) {
                int32_t oy = oy0 + r;
                int8_t *bd = band + (int64_t)r * brow;
                ds_rows(&g, xb, ring, rows, row, inplace, oy0, oy, rowp);
#if ERT_X86
                if (lvl == ERT_LVL_VNNI && (dm == 1 || g.ic == 1)) {
                    for (int32_t ox = 0; ox < g.ow; ox++)
                        ert_dw_pixel_vnni(&g, rowp, ox, dww, db, dmul, dsh, bd + (int64_t)ox * g.oc, 1);
                } else
#endif
                {
                    for (int32_t ox = 0; ox < g.ow; ox++)
                        ert_dw_pixel(&g, dm, rowp, ox, dww, db, dmul, dsh, bd + (int64_t)ox * g.oc);
                    if (ERT_BIASED(lvl)) /* the band feeds the VNNI product: biased */
                        ert_bias_row(bd, brow);
                }
            }
            if (inplace)
                for (int32_t r = 0; r < nr; r++)
                    memcpy(ring + (int64_t)((oy0 + r) % rows) * row, xb + (int64_t)(oy0 + r) * row, (size_t)row);
            int8_t *yr = y + ((int64_t)b * g.oh + oy0) * g.ow * poc;
            for (int32_t q0 = 0; q0 < nr * g.ow; q0 += prow) {
                int32_t n = nr * g.ow - q0 < prow ? nr * g.ow - q0 : prow;
                const int8_t *xr[16];
                int8_t *out[16];
                for (int32_t q = 0; q < n; q++) {
                    xr[q] = band + (int64_t)(q0 + q) * g.oc;
                    out[q] = yr + (int64_t)(q0 + q) * poc;
                }
                ert_epi e = {pb, pwsum, pmul, psh, p_off, p_lo, p_hi, NULL, 0, out, NULL};
                ert_gemm(lvl, xr, n, g.oc, pww, pwp, poc, &e, ERT_BIASED(lvl));
            }
        }
    }
}

ERT_VARIANTS(ert_ds_conv_run, ds_body)
