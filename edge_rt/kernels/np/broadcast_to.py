# BROADCAST_TO, numpy: one copy from the input seen with stride 0 on the repeated axes.
from . import _strided


def bind(op, m, v, arena):
    return _strided.bind_whole(op, m, v)
