/* edge_rt compiled kernel set: the op ABI (C99, no Python headers).
 *
 * 1. The host packs a model; at load the Interpreter binds every op the C set runs into one
 *    ert_op record: `run` (the kernel), `prm` (int32 params: geometry then the op's prepared
 *    params, layout documented per op below) and `p[]` (pointers to constants in the mapped
 *    file, to tensors at their arena offsets, and to the op's planned scratch).
 * 2. ert_op_init() validates a record before it is ever run: the opcode is known, the params
 *    are self-consistent (ert_kernel.extents rejects them otherwise), and for every pointer the
 *    bytes the kernel will touch (computed by `extents` from the params alone) fit in the room
 *    the binder says that pointer has; written pointers lie in writable memory (the arena);
 *    int32 pointers are 4-byte aligned. Kernels trust nothing else, so a crafted .ert cannot
 *    make them read or write out of bounds.
 * 3. ert_run() runs a table of records in order: the whole schedule (or one run of consecutive
 *    C ops when some ops fall back to another set) in one call.
 *
 * Kernels are pure: no malloc, no static or global state, no I/O, no libc beyond
 * memcpy/memset, integer arithmetic only, no 64-bit division (shifts do TFLite's divisions by
 * powers of two), so the same sources build for a Cortex-M MicroPython native module. SIMD
 * variants are picked at run time from ert_ctx.features (ert_cpu_features()), never from the
 * build machine's -march.
 *
 * Stack: accumulators live in registers or in bounded local arrays, none larger than
 * ERT_MAX_LOCAL_BYTES (the 16 AVX-512 accumulators of a product tile or of a depthwise pixel,
 * DEQUANTIZE's 256-entry float table, FULLY_CONNECTED's biased 1024-byte piece of its input row,
 * the pools' 64-channel rows); no local array is sized by
 * the model, so every model-sized temporary is planned scratch (the `s` operands), and the
 * FULLY_CONNECTED, depthwise, pooling and element-wise kernels need none.
 *
 * Operand signature letters (ert_kernel.sig, one per pointer):
 *   b  int8 input (constant or arena)      i  int32 input (4-byte aligned)
 *   o  int8 output (arena only)            s  scratch (arena only, 4-byte aligned)
 *   m  int32 requantization multipliers (aligned; every value >= 0)
 *   h  int32 requantization shifts (aligned; every value in [-31, 30])
 */
#ifndef ERT_KERNELS_H
#define ERT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define ERT_ABI_VERSION 1
#define ERT_MAX_PTRS 16
#define ERT_MAX_LOCAL_BYTES 1024 /* largest local array of any kernel (see Stack above) */
#define ERT_MAX_PRMS 64
/* Bounds the validator enforces: every tensor dimension, and every dot-product length (taps x
 * channels). |x * w| <= 2^14, so a dot of at most 2^16 terms plus an int32 bias stays exact in
 * the int32 accumulator the reference uses (int32 wrap-around semantics otherwise). */
#define ERT_MAX_DIM (1 << 24)
#define ERT_MAX_DOT (1 << 16)

/* CPU features (ert_ctx.features); ERT_CPU_FORCE_C disables every SIMD path. */
#define ERT_CPU_AVX2 1u
#define ERT_CPU_AVX512VNNI 2u
#define ERT_CPU_NEON 4u
#define ERT_CPU_DOTPROD 8u

typedef struct ert_ctx {
    uint32_t features;
} ert_ctx;

typedef struct ert_op ert_op;
typedef void (*ert_run_fn)(const ert_op *op, const ert_ctx *ctx);

struct ert_op {
    ert_run_fn run;
    const int32_t *prm;
    int32_t nprm;
    int32_t opcode;
    void *p[ERT_MAX_PTRS];
};

/* Bytes each pointer operand's kernel touches, from the params alone; 0 when the params are
 * consistent and within bounds, -1 otherwise. */
typedef int (*ert_extents_fn)(const int32_t *prm, int32_t nprm, int64_t *ext);

typedef struct ert_kernel {
    int32_t opcode;          /* edge_rt/format.py OP_* */
    const char *name;
    const char *sig;         /* one letter per pointer operand, see above */
    ert_extents_fn extents;
    ert_run_fn run;
} ert_kernel;

/* A pointer operand as the binder describes it: room = bytes from ptr to the end of the tensor
 * (or scratch) it points into; writable = it lies in the arena. */
typedef struct ert_operand {
    void *ptr;
    int64_t room;
    int32_t writable;
} ert_operand;

enum {
    ERT_OK = 0,
    ERT_E_OPCODE = -1,   /* no C kernel for the opcode */
    ERT_E_PARAMS = -2,   /* params inconsistent or out of bounds */
    ERT_E_NPTR = -3,     /* wrong number of pointer operands */
    ERT_E_ROOM = -4,     /* operand *bad would be accessed past its room */
    ERT_E_WRITE = -5,    /* output/scratch operand *bad is not writable */
    ERT_E_ALIGN = -6,    /* int32 operand *bad is not 4-byte aligned */
    ERT_E_VALUE = -7,    /* multiplier or shift operand *bad holds a value out of range */
    ERT_E_OVERLAP = -8   /* scratch operand *bad overlaps another operand of the op */
};

const ert_kernel *ert_kernel_for(int32_t opcode);
int ert_kernel_count(void);
const ert_kernel *ert_kernel_at(int i);
int ert_op_init(ert_op *op, int32_t opcode, const int32_t *prm, int32_t nprm,
                const ert_operand *operands, int32_t nptr, int32_t *bad);
void ert_run(const ert_op *ops, int32_t n, const ert_ctx *ctx);
uint32_t ert_cpu_features(void);
const char *ert_simd_path(uint32_t features);

/* ---- ops ---------------------------------------------------------------------------------
 * The convolutions also get, last, their weights packed for the AVX-512 VNNI product at pack
 * time (compiler/prepare/common.py c_constants): wp [ceil(oc/16)][ceil(K/4)][16][4] int8 b,
 * wsum[ceil(oc/16)*16] = 128 * row sums i (ert_gemm.h explains them). FULLY_CONNECTED[_ADD] has
 * its weights only in that packing (operand 1; every path reads it: ert_pdot.h), then wsum.
 * FULLY_CONNECTED (fully_connected.c)
 *   prm: batches, n, k, out_off, lo, hi
 *   p:   x[b*k] b, wp b, folded_bias[n] i, mult[n] m, shift[n] h, y[b*n] o, scratch s (0 bytes),
 *        wsum i
 * FULLY_CONNECTED_ADD (fc_add.c): FULLY_CONNECTED, then ADD with the same-index skip element
 *   prm: FULLY_CONNECTED's 6, position (1: FC feeds ADD's first input), ADD's 12 (add.py)
 *   p:   FULLY_CONNECTED's 6, skip b (may be y itself: in place), scratch s (0 bytes), wsum i
 * CONV_2D (conv_2d.c)
 *   prm: nb, h, w, ic, oc, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi
 *   p:   x b, filter[oc,kh,kw,ic] b, folded_bias i, mult m, shift h, y o,
 *        scratch s (ert_conv_scratch: ERT_GEMM_ROWS(oc) patches of K = kh*kw*ic bytes, 16-aligned,
 *        none for a 1x1 whose taps all lie inside the input; or the VNNI input window of
 *        ert_win_rows output rows when that is larger), wp b, wsum i
 * CONV_2D_ADD (conv_add.c): CONV_2D's 19 params, position, ADD's 12;
 *   p: CONV_2D's 6, skip b, scratch s (as CONV_2D), wp b, wsum i
 * DEPTHWISE_CONV_2D (depthwise_conv_2d.c)
 *   prm: CONV_2D's 19, depth_multiplier (oc = ic * dm); kh <= 64
 *   p:   x b, filter[kh,kw,oc] b, folded_bias i, mult m, shift h, y o, scratch s (0 bytes),
 *        wp b, wsum i (the filter transposed to [oc][kh*kw] and packed: one input channel runs as a
 *        convolution on VNNI)
 * DS_CONV_2D (ds_conv.c): depthwise rows streamed through a 1x1 convolution
 *   prm: DEPTHWISE's 20, poc, p_off, p_lo, p_hi, inplace
 *   p:   x, dw filter, dw bias, dw mult, dw shift, pw filter[poc,oc], pw bias, pw mult,
 *        pw shift, y, scratch [ring: max(pt,1) input rows, 16-aligned, only when inplace]
 *        [band ow*oc + 3, 16-aligned],
 *        pw wp, pw wsum
 * AVERAGE_POOL_2D, MAX_POOL_2D (average_pool_2d.c, max_pool_2d.c; ert_pool.h)
 *   prm: nb, h, w, c, oh, ow, sh, sw, fh, fw, pt, pl, lo, hi;  p: x b, y o
 * ADD, SUB (add.c, sub.c): prm: ADD's 12 (compiler/prepare/add.py), broadcast plan
 *   (kernels/broadcast.py: ndim, dims, strides_a, strides_b);  p: a b, b b, y o
 * MUL (mul.c): prm: off1, off2, out_off, mult, shift, lo, hi, broadcast plan;  p: a b, b b, y o
 * SOFTMAX (softmax.c): prm: rows, depth;  p: x b, exp_q31[256] i, exp_q12[256] i, y o
 * LOGISTIC, TANH, HARD_SWISH, LOOKUP (ert_table.h): prm: n;  p: x b, table[256] b, y o
 * RELU (relu.c): prm: n, zi, zo, mult, shift, lo, hi;  p: x b, y o
 * RELU6 (relu6.c): prm: n, zero, six;  p: x b, y o
 * LEAKY_RELU (leaky_relu.c): prm: n, zi, zo, mi, si, ma, sa, sign;  p: x b, y o
 * QUANTIZE (quantize.c): prm: n, 1, zi, zo, mult, shift (int8) | n, 0, zo, scale bits (float32)
 * DEQUANTIZE (dequantize.c): prm: n, zp, scale bits;  p: x b, y[n] float32 o
 * MEAN (mean.c): prm: mult, shift, out_zp, offset, nd, dims[nd], flags[nd];  p: x b, y o
 * PAD (pad.c): prm: esize, rank, xs[rank], before[rank], after[rank];  p: x b, value b, y o
 * CONCATENATION (concatenation.c): prm: esize, outer, chunks[n];  p: x_0..x_9 b, y o
 * RESHAPE, SQUEEZE (reshape.c, squeeze.c): prm: nbytes;  p: x b, y o
 * STRIDED_SLICE (strided_slice.c): prm: esize, dims[5], (start, stride, count)[5];  p: x b, y o
 * SPLIT, SPLIT_V (split.c, split_v.c): prm: esize, outer, in_chunk, chunks[n];  p: x b, y_0..y_14 o
 * How to add an op: docs/c_kernels.md. */
#define ERT_KERNEL_DECL(op) \
    int ert_##op##_extents(const int32_t *prm, int32_t nprm, int64_t *ext); \
    void ert_##op##_run(const ert_op *op_, const ert_ctx *ctx)

ERT_KERNEL_DECL(fully_connected);
ERT_KERNEL_DECL(fc_add);
ERT_KERNEL_DECL(conv_2d);
ERT_KERNEL_DECL(conv_add);
ERT_KERNEL_DECL(depthwise_conv_2d);
ERT_KERNEL_DECL(ds_conv);
ERT_KERNEL_DECL(average_pool_2d);
ERT_KERNEL_DECL(max_pool_2d);
ERT_KERNEL_DECL(add);
ERT_KERNEL_DECL(sub);
ERT_KERNEL_DECL(mul);
ERT_KERNEL_DECL(softmax);
ERT_KERNEL_DECL(logistic);
ERT_KERNEL_DECL(tanh);
ERT_KERNEL_DECL(hard_swish);
ERT_KERNEL_DECL(lookup);
ERT_KERNEL_DECL(relu);
ERT_KERNEL_DECL(relu6);
ERT_KERNEL_DECL(leaky_relu);
ERT_KERNEL_DECL(quantize);
ERT_KERNEL_DECL(dequantize);
ERT_KERNEL_DECL(mean);
ERT_KERNEL_DECL(pad);
ERT_KERNEL_DECL(concatenation);
ERT_KERNEL_DECL(reshape);
ERT_KERNEL_DECL(squeeze);
ERT_KERNEL_DECL(strided_slice);
ERT_KERNEL_DECL(split);
ERT_KERNEL_DECL(split_v);

#endif
