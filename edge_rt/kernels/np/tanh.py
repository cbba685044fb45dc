# TANH (int8), numpy: one table lookup per element (table built at pack time, see
# compiler/prepare/tanh.py; indexed by x + 128, re-indexed here by x's uint8 bits).
from ._table import bind_table, rotated


def bind(op, m, v, arena):
    return bind_table(v[op.inputs[0]], v[op.outputs[0]], rotated(v[op.inputs[1]]), arena, op.scratch_offset)
