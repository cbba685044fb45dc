/* Self-check of the C kernels' SIMD paths against their portable path, without Python: random
 * FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D (dm 1 and one input channel) and DS_CONV_2D
 * records are validated with ert_op_init and run once per SIMD level this CPU offers; every
 * level must write exactly the portable path's bytes (which the Python suite checks bit-exact
 * against TFLite Micro). Build natively or with a cross compiler and run under qemu-user:
 *   aarch64-linux-gnu-gcc -O2 -std=gnu99 -Iedge_rt/kernels/c tools/c_selfcheck.c \
 *       edge_rt/kernels/c/{runner,cpu,fully_connected,fc_add,conv_2d,conv_add,depthwise_conv_2d,ds_conv}.c
 *   qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu ./a.out
 * Prints one line per case and "ok" (exit 0), or the first mismatch (exit 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ert_kernels.h"
#include "ert_conv.h" /* ert_win_rows, ert_conv_scratch: the window packing and scratch */

static uint32_t rng = 12345u;
static int32_t rnd(int32_t lo, int32_t hi) /* inclusive */
{
    rng = rng * 1664525u + 1013904223u;
    return lo + (int32_t)((rng >> 8) % (uint32_t)(hi - lo + 1));
}

static int8_t *bytes(int64_t n) { int8_t *p = malloc((size_t)(n ? n : 1) + 64); for (int64_t i = 0; i < n; i++) p[i] = (int8_t)rnd(-128, 127); return p; }

/* VNNI packing of an [oc][k] matrix (compiler/prepare/common.py c_constants) */
static void pack_w(const int8_t *w, int32_t oc, int32_t k, int8_t **wp, int32_t **wsum)
{
    int32_t ocb = (oc + 15) / 16, k4 = (k + 3) / 4;
    *wp = calloc((size_t)ocb * k4 * 64, 1);
    *wsum = calloc((size_t)ocb * 16, 4);
    for (int32_t o = 0; o < oc; o++)
        for (int32_t i = 0; i < k; i++) {
            (*wp)[(((int64_t)(o / 16) * k4 + i / 4) * 16 + o % 16) * 4 + i % 4] = w[(int64_t)o * k + i];
            (*wsum)[o] += 128 * w[(int64_t)o * k + i];
        }
}

static int32_t *requant(int32_t n, int32_t **shift)
{
    int32_t *m = malloc((size_t)n * 4);
    *shift = malloc((size_t)n * 4);
    for (int32_t i = 0; i < n; i++) { m[i] = rnd(1 << 30, 0x7fffffff); (*shift)[i] = rnd(-12, 1); }
    return m;
}

static int32_t *ints(int32_t n, int32_t lo, int32_t hi) { int32_t *p = malloc((size_t)n * 4 + 4); for (int32_t i = 0; i < n; i++) p[i] = rnd(lo, hi); return p; }

/* run the record at every feature level; compare the output bytes with the portable ones */
static int run_all(const char *what, int32_t opcode, int32_t *prm, int32_t nprm, ert_operand *opd, int32_t nptr,
                   int yi, int64_t ybytes)
{
    ert_op op;
    int32_t bad;
    int rc = ert_op_init(&op, opcode, prm, nprm, opd, nptr, &bad);
    if (rc != ERT_OK) { printf("%s: refused (%d, operand %d)\n", what, rc, bad); return 1; }
    uint32_t have = ert_cpu_features();
    int8_t *want = malloc((size_t)ybytes);
    ert_ctx c0 = {0};
    ert_run(&op, 1, &c0);
    memcpy(want, op.p[yi], (size_t)ybytes);
    uint32_t levels[] = {ERT_CPU_AVX2, ERT_CPU_AVX2 | ERT_CPU_AVX512VNNI, ERT_CPU_NEON, ERT_CPU_NEON | ERT_CPU_DOTPROD};
    for (int l = 0; l < 4; l++) {
        if ((have & levels[l]) != levels[l]) continue;
        ert_ctx c = {levels[l]};
        memset(op.p[yi], 0x5a, (size_t)ybytes);
        ert_run(&op, 1, &c);
        if (memcmp(want, op.p[yi], (size_t)ybytes)) {
            printf("%s: MISMATCH on %s\n", what, ert_simd_path(levels[l]));
            return 1;
        }
    }
    printf("%s: %s and portable agree\n", what, ert_simd_path(have));
    free(want);
    return 0;
}

#define OPD(p, n, wr) ((ert_operand){(void *)(p), (n), (wr)})

static int fc(int32_t b, int32_t n, int32_t k)
{
    int8_t *x = bytes((int64_t)b * k), *w = bytes((int64_t)n * k), *y = bytes((int64_t)b * n), *wp, s[16];
    int32_t *sh, *m = requant(n, &sh), *bias = ints(n, -5000, 5000), *ws;
    pack_w(w, n, k, &wp, &ws);
    int32_t prm[6] = {b, n, k, rnd(-20, 20), -128, 127};
    /* the weights only in their packing (operand 1), wsum last */
    ert_operand o[8] = {OPD(x, (int64_t)b * k, 0), OPD(wp, ((n + 15) / 16) * ((k + 3) / 4) * 64, 0), OPD(bias, 4 * n, 0),
                        OPD(m, 4 * n, 0), OPD(sh, 4 * n, 0), OPD(y, (int64_t)b * n, 1), OPD(s, 0, 1),
                        OPD(ws, ((n + 15) / 16) * 64, 0)};
    char what[64];
    free(w);
    snprintf(what, sizeof what, "FULLY_CONNECTED %dx%dx%d", b, n, k);
    return run_all(what, 3, prm, 6, o, 8, 5, (int64_t)b * n);
}

static int conv(int dw, int32_t h, int32_t w_, int32_t ic, int32_t oc, int32_t kh, int32_t kw, int32_t s_, int32_t d)
{
    int32_t oh = (h + s_ - 1) / s_, ow = (w_ + s_ - 1) / s_, k = dw ? kh * kw : kh * kw * ic;
    int32_t pt = ((oh - 1) * s_ + (kh - 1) * d + 1 - h) / 2, pl = ((ow - 1) * s_ + (kw - 1) * d + 1 - w_) / 2;
    if (pt < 0) pt = 0;
    if (pl < 0) pl = 0;
    int8_t *x = bytes((int64_t)h * w_ * ic), *w = bytes((int64_t)oc * k), *y = bytes((int64_t)oh * ow * oc), *wp;
    int32_t *sh, *m = requant(oc, &sh), *bias = ints(oc, -5000, 5000), *ws;
    int32_t prm[20] = {1, h, w_, ic, oc, kh, kw, oh, ow, s_, s_, d, d, pt, pl, rnd(-128, 127), rnd(-20, 20), -128, 127,
                       oc / ic};
    int64_t room = dw ? 0 : ert_conv_scratch(prm, k, oc);
    int8_t *scratch = bytes(room + 64);
    int8_t *wt = w;
    int32_t kp = k;
    if (dw) { /* filter [kh][kw][oc]; the packing is of its transpose, each row padded to 4 taps */
        int32_t rp = (kw + 3) / 4 * 4;
        kp = kh * rp;
        wt = calloc((size_t)oc * kp, 1);
        for (int32_t t = 0; t < k; t++)
            for (int32_t c = 0; c < oc; c++) wt[(int64_t)c * kp + t / kw * rp + t % kw] = w[(int64_t)t * oc + c];
    } else if (ert_win_rows(prm)) { /* the window's packing: each filter row padded to 4 bytes */
        int32_t r = kw * ic, rp = (r + 3) / 4 * 4;
        kp = kh * rp;
        wt = calloc((size_t)oc * kp, 1);
        for (int32_t c = 0; c < oc; c++)
            for (int32_t ky = 0; ky < kh; ky++) memcpy(wt + (int64_t)c * kp + ky * rp, w + (int64_t)c * k + ky * r, (size_t)r);
    }
    pack_w(wt, oc, kp, &wp, &ws);
    ert_operand o[9] = {OPD(x, (int64_t)h * w_ * ic, 0), OPD(w, (int64_t)oc * k, 0), OPD(bias, 4 * oc, 0),
                        OPD(m, 4 * oc, 0), OPD(sh, 4 * oc, 0), OPD(y, (int64_t)oh * ow * oc, 1),
                        OPD(scratch, room, 1), OPD(wp, ((oc + 15) / 16) * ((kp + 3) / 4) * 64, 0),
                        OPD(ws, ((oc + 15) / 16) * 64, 0)};
    char what[96];
    snprintf(what, sizeof what, "%s %dx%dx%d->%d k%dx%d s%d d%d", dw ? "DEPTHWISE_CONV_2D" : "CONV_2D", h, w_, ic, oc,
             kh, kw, s_, d);
    return run_all(what, dw ? 2 : 1, prm, dw ? 20 : 19, o, 9, 5, (int64_t)oh * ow * oc);
}

int main(void)
{
    int bad = 0;
    bad |= fc(1, 10, 33); bad |= fc(3, 64, 250); bad |= fc(5, 17, 7);
    /* batch 1: the VNNI tiles of 8/4/2/1 blocks, rows past the 1024-byte biased piece */
    bad |= fc(1, 128, 640); bad |= fc(1, 8, 128); bad |= fc(1, 4, 4000); bad |= fc(1, 113, 1031); bad |= fc(1, 1, 1);
    bad |= conv(0, 9, 7, 5, 6, 3, 3, 2, 1); bad |= conv(0, 10, 10, 16, 20, 3, 3, 1, 2); bad |= conv(0, 6, 6, 64, 36, 1, 1, 1, 1);
    bad |= conv(0, 12, 10, 1, 64, 10, 4, 2, 1);
    bad |= conv(1, 8, 8, 40, 40, 3, 3, 1, 1); bad |= conv(1, 9, 9, 8, 8, 3, 3, 2, 1); bad |= conv(1, 25, 20, 1, 8, 10, 8, 2, 1);
    bad |= conv(1, 7, 7, 1, 20, 3, 5, 1, 2); bad |= conv(1, 9, 33, 1, 3, 3, 7, 2, 1); bad |= conv(1, 6, 41, 1, 24, 5, 3, 1, 1);
    printf(bad ? "FAILED\n" : "ok\n");
    return bad;
}
