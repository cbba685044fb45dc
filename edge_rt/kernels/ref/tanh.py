# TANH, pure Python.
# int8: y = table[x + 128]; the table is TFLite Micro's integer tanh evaluated on all 256
# inputs at pack time (compiler/prepare/tanh.py).
# int16 (reference_integer_ops::Tanh, tanh(x) = 2 sigmoid(2x) - 1 on LOGISTIC's table): the input
# rescaled onto the table's grid, then the table interpolation of _sigmoid16.py.
from ._sigmoid16 import bind16, tanh16
from .lut import lookup_run
from ... import format as F


def bind(op, m, v, arena):
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:
        return bind16(op, m, v, tanh16)
    return lookup_run(v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], m.tensors[op.outputs[0]].size())
