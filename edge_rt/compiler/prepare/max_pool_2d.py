"""MAX_POOL_2D (int8, int16: TFLite Micro's int16 max pooling starts from -32768). Kernel inputs:
[input]; params as AVERAGE_POOL_2D: [stride_h, stride_w, filter_h, filter_w, pad_top, pad_left,
act_min, act_max]."""
from ..ir import Graph, Op
from .average_pool_2d import DTYPES, pool_prepare  # noqa: F401 (DTYPES: the op table)


def prepare(g: Graph, op: Op, ks: str) -> None:
    pool_prepare(g, op, ks, average=False)
