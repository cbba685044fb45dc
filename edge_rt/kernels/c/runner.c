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

/* opcode, name, operand signature (ert_kernels.h), extents, run; opcodes from format.py */
static const ert_kernel KERNELS[] = {
    {ERT_OP_CONV_2D, "CONV_2D", "bbimhosbi", ert_conv_2d_extents, ert_conv_2d_run},
    {ERT_OP_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", "bbimhosbi", ert_depthwise_conv_2d_extents,
     ert_depthwise_conv_2d_run},
    {ERT_OP_FULLY_CONNECTED, "FULLY_CONNECTED", "bbimhosbi", ert_fully_connected_extents,
     ert_fully_connected_run},
    {ERT_OP_CONV_2D_ADD, "CONV_2D_ADD", "bbimhobsbi", ert_conv_add_extents, ert_conv_add_run},
    {ERT_OP_DS_CONV_2D, "DS_CONV_2D", "bbimhbimhosbi", ert_ds_conv_extents, ert_ds_conv_run},
    {ERT_OP_FULLY_CONNECTED_ADD, "FULLY_CONNECTED_ADD", "bbimhobsbi", ert_fc_add_extents, ert_fc_add_run},
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
