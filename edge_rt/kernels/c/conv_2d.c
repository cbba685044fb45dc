/* CONV_2D, int8, NHWC input, OHWI filter: output pixels a tile at a time; each pixel's K =
 * kh*kw*ic input bytes (read in place for 1x1, from the biased input window on VNNI, else
 * gathered into a patch with the input zero point in padded taps) times the int8 filter
 * (ert_gemm.h), requantized in the product's output stage. prm and p: ert_kernels.h; the loops:
 * ert_conv.h (ert_conv_run). */
#include "ert_conv.h"

int ert_conv_2d_extents(const int32_t *p, int32_t np, int64_t *e)
{
    int64_t xb, yb, taps;
    if (np != ERT_GEOM_PRMS || ert_geom_check(p, &xb, &yb, &taps) != 0 || taps * p[3] > ERT_MAX_DOT) return -1;
    int64_t oc = p[4], k = taps * p[3];
    e[0] = xb; e[1] = oc * k; e[2] = e[3] = e[4] = 4 * oc; e[5] = yb; e[6] = ert_conv_scratch(p, k, p[4]);
    e[7] = ERT_WP_BYTES(oc, ert_win_k(p)); e[8] = ERT_WSUM_BYTES(oc);
    return 0;
}

ERT_INLINE void conv_body(const ert_op *op, int lvl)
{
    ert_conv_run(op, lvl, NULL, 0);
}

ERT_VARIANTS(ert_conv_2d_run, conv_body)
