# TRANSPOSE, numpy: one copy from the input seen at the permuted strides into the output.
from . import _strided


def bind(op, m, v, arena):
    return _strided.bind_whole(op, m, v)
