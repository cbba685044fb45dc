/* The C set's runner: the kernel table, the validation of one op record (ert_op_init: what
 * every kernel trusts), and ert_run, which runs a table of records in order. */
#include <string.h>
#include "ert_kernels.h"

#define ERT_OP_CONV_2D 1
#define ERT_OP_DEPTHWISE_CONV_2D 2
#define ERT_OP_FULLY_CONNECTED 3
#define ERT_OP_CONV_2D_ADD 100
#define ERT_OP_DS_CONV_2D 101
#define ERT_OP_FULLY_CONNECTED_ADD 102
#define ERT_OP_AVERAGE_POOL_2D 4
#define ERT_OP_MAX_POOL_2D 5
#define ERT_OP_ADD 6
#define ERT_OP_SUB 7
#define ERT_OP_MUL 8
#define ERT_OP_RESHAPE 9
#define ERT_OP_SQUEEZE 10
#define ERT_OP_SOFTMAX 11
#define ERT_OP_LOGISTIC 12
#define ERT_OP_TANH 13
#define ERT_OP_RELU 14
#define ERT_OP_RELU6 15
#define ERT_OP_LEAKY_RELU 16
#define ERT_OP_HARD_SWISH 17
#define ERT_OP_PAD 18
#define ERT_OP_CONCATENATION 19
#define ERT_OP_MEAN 20
#define ERT_OP_QUANTIZE 21
#define ERT_OP_DEQUANTIZE 22
#define ERT_OP_LOOKUP 103
#define ERT_OP_STRIDED_SLICE 40
#define ERT_OP_SPLIT 41
#define ERT_OP_SPLIT_V 42

/* opcode, name, operand signature (ert_kernels.h), extents, run; opcodes from format.py */
static const ert_kernel KERNELS[] = {
    {ERT_OP_CONV_2D, "CONV_2D", "bbimhosbi", ert_conv_2d_extents, ert_conv_2d_run},
    {ERT_OP_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", "bbimhosbi", ert_depthwise_conv_2d_extents,
     ert_depthwise_conv_2d_run},
    {ERT_OP_FULLY_CONNECTED, "FULLY_CONNECTED", "bbimhosi", ert_fully_connected_extents,
     ert_fully_connected_run},
    {ERT_OP_CONV_2D_ADD, "CONV_2D_ADD", "bbimhobsbi", ert_conv_add_extents, ert_conv_add_run},
    {ERT_OP_DS_CONV_2D, "DS_CONV_2D", "bbimhbimhosbi", ert_ds_conv_extents, ert_ds_conv_run},
    {ERT_OP_FULLY_CONNECTED_ADD, "FULLY_CONNECTED_ADD", "bbimhobsi", ert_fc_add_extents, ert_fc_add_run},
    {ERT_OP_AVERAGE_POOL_2D, "AVERAGE_POOL_2D", "bo", ert_average_pool_2d_extents, ert_average_pool_2d_run},
    {ERT_OP_MAX_POOL_2D, "MAX_POOL_2D", "bo", ert_max_pool_2d_extents, ert_max_pool_2d_run},
    {ERT_OP_ADD, "ADD", "bbo", ert_add_extents, ert_add_run},
    {ERT_OP_SUB, "SUB", "bbo", ert_sub_extents, ert_sub_run},
    {ERT_OP_MUL, "MUL", "bbo", ert_mul_extents, ert_mul_run},
    {ERT_OP_RESHAPE, "RESHAPE", "bo", ert_reshape_extents, ert_reshape_run},
    {ERT_OP_SQUEEZE, "SQUEEZE", "bo", ert_squeeze_extents, ert_squeeze_run},
    {ERT_OP_SOFTMAX, "SOFTMAX", "biio", ert_softmax_extents, ert_softmax_run},
    {ERT_OP_LOGISTIC, "LOGISTIC", "bbo", ert_logistic_extents, ert_logistic_run},
    {ERT_OP_TANH, "TANH", "bbo", ert_tanh_extents, ert_tanh_run},
    {ERT_OP_RELU, "RELU", "bo", ert_relu_extents, ert_relu_run},
    {ERT_OP_RELU6, "RELU6", "bo", ert_relu6_extents, ert_relu6_run},
    {ERT_OP_LEAKY_RELU, "LEAKY_RELU", "bo", ert_leaky_relu_extents, ert_leaky_relu_run},
    {ERT_OP_HARD_SWISH, "HARD_SWISH", "bbo", ert_hard_swish_extents, ert_hard_swish_run},
    {ERT_OP_PAD, "PAD", "bbo", ert_pad_extents, ert_pad_run},
    {ERT_OP_CONCATENATION, "CONCATENATION", "bbbbbbbbbbo", ert_concatenation_extents, ert_concatenation_run},
    {ERT_OP_MEAN, "MEAN", "bo", ert_mean_extents, ert_mean_run},
    {ERT_OP_QUANTIZE, "QUANTIZE", "bo", ert_quantize_extents, ert_quantize_run},
    {ERT_OP_DEQUANTIZE, "DEQUANTIZE", "bo", ert_dequantize_extents, ert_dequantize_run},
    {ERT_OP_LOOKUP, "LOOKUP", "bbo", ert_lookup_extents, ert_lookup_run},
    {ERT_OP_STRIDED_SLICE, "STRIDED_SLICE", "bo", ert_strided_slice_extents, ert_strided_slice_run},
    {ERT_OP_SPLIT, "SPLIT", "booooooooooooooo", ert_split_extents, ert_split_run},
    {ERT_OP_SPLIT_V, "SPLIT_V", "booooooooooooooo", ert_split_v_extents, ert_split_v_run},
};

int ert_kernel_count(void) { return (int)(sizeof(KERNELS) / sizeof(KERNELS[0])); }

const ert_kernel *ert_kernel_at(int i)
{
    return i >= 0 && i < ert_kernel_count() ? &KERNELS[i] : NULL;
}

const ert_kernel *ert_kernel_for(int32_t opcode)
{
    for (int i = 0; i < ert_kernel_count(); i++)
        if (KERNELS[i].opcode == opcode)
            return &KERNELS[i];
    return NULL;
}

int ert_op_init(ert_op *op, int32_t opcode, const int32_t *prm, int32_t nprm,
                const ert_operand *operands, int32_t nptr, int32_t *bad)
{
    int64_t ext[ERT_MAX_PTRS];
    const ert_kernel *k = ert_kernel_for(opcode);
    *bad = -1;
    if (k == NULL) return ERT_E_OPCODE;
    if ((int32_t)strlen(k->sig) != nptr || nptr > ERT_MAX_PTRS) return ERT_E_NPTR;
    if (nprm < 0 || nprm > ERT_MAX_PRMS || k->extents(prm, nprm, ext) != 0) return ERT_E_PARAMS;
    for (int32_t i = 0; i < nptr; i++) {
        char s = k->sig[i];
        *bad = i;
        if (operands[i].ptr == NULL || ext[i] < 0 || ext[i] > operands[i].room) return ERT_E_ROOM;
        if ((s == 'o' || s == 's') && !operands[i].writable) return ERT_E_WRITE;
        if ((s == 'i' || s == 's' || s == 'm' || s == 'h') && ((uintptr_t)operands[i].ptr & 3u)) return ERT_E_ALIGN;
        /* the fixed-point code's value ranges: multipliers >= 0, shifts in [-31, 30] */
        if (s == 'm' || s == 'h') {
            const int32_t *v = (const int32_t *)operands[i].ptr;
            for (int64_t j = 0; j < ext[i] / 4; j++)
                if (s == 'm' ? v[j] < 0 : (v[j] < -31 || v[j] > 30)) return ERT_E_VALUE;
        }
    }
    /* scratch is the op's own: the planner never places it over another operand of the op, and the
     * kernels copy into it with memcpy (a crafted file's overlap would be undefined behaviour) */
    for (int32_t i = 0; i < nptr; i++) {
        if (k->sig[i] != 's' || ext[i] == 0) continue;
        const char *s0 = (const char *)operands[i].ptr, *s1 = s0 + ext[i];
        for (int32_t j = 0; j < nptr; j++) {
            const char *o0 = (const char *)operands[j].ptr, *o1 = o0 + ext[j];
            *bad = i;
            if (j != i && ext[j] > 0 && o0 < s1 && s0 < o1) return ERT_E_OVERLAP;
        }
    }
    *bad = -1;
    memset(op, 0, sizeof(*op));
    op->run = k->run;
    op->prm = prm;
    op->nprm = nprm;
    op->opcode = opcode;
    for (int32_t i = 0; i < nptr; i++)
        op->p[i] = operands[i].ptr;
    return ERT_OK;
}

void ert_run(const ert_op *ops, int32_t n, const ert_ctx *ctx)
{
    for (int32_t i = 0; i < n; i++)
        ops[i].run(&ops[i], ctx);
}
