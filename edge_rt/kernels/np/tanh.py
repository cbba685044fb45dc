# TANH, numpy. int8: one table lookup per element (table built at pack time, see
# compiler/prepare/tanh.py; indexed by x + 128, re-indexed here by x's uint8 bits).
from ._sigmoid16 import bind_sigmoid16
from ._table import bind_table, rotated
from ... import format as F


def bind(op, m, v, arena):
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:  # int16: interpolated sigmoid table (_sigmoid16.py)
        return bind_sigmoid16("tanh", v[op.inputs[0]], v[op.outputs[0]], v[op.inputs[1]], op.params[0],
                              op.params[1], arena, op.scratch_offset)
    return bind_table(v[op.inputs[0]], v[op.outputs[0]], rotated(v[op.inputs[1]]), arena, op.scratch_offset)
