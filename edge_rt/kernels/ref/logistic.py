# LOGISTIC, pure Python.
# int8: y = table[x + 128]; the table is TFLite Micro's integer logistic evaluated on all 256
# inputs at pack time (compiler/prepare/logistic.py).
# int16 (reference_integer_ops::Logistic): the input rescaled onto the table's grid, then the
# table interpolation of _sigmoid16.py (which states the steps and the small-int bounds).
from ._sigmoid16 import bind16, sigmoid16
from .lut import lookup_run
from ... import format as F


def bind(op, m, v, arena):
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:
        return bind16(op, m, v, sigmoid16)
    return lookup_run(v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], m.tensors[op.outputs[0]].size())
