"""EXPAND_DIMS (int8, int16, float32 as TFLite Micro): a byte copy that inserts a size-1 dimension at
`axis` (the constant second input; negative counts from the end of the result, as TFLite).
Kernel inputs: [input]; no params. eliminate_reshape turns it into an alias like RESHAPE."""
from ..ir import Graph, Op
from .common import need, need_const, need_dtype
from .reshape import same_bytes_prepare

DTYPES = ("int8", "int16", "float32")  # TFLite Micro: no int32


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 2 and len(op.outputs) == 1, "expected 2 inputs (input, axis) and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    need_dtype(g, op.inputs[1], "axis", "int32")
    axis = need_const(g, op.inputs[1], "axis").reshape(-1)
    need(axis.size == 1, f"axis has {axis.size} values; expected one")
    rank = len(x.shape)
    a = int(axis[0])
    a = a + rank + 1 if a < 0 else a
    need(0 <= a <= rank, f"axis {int(axis[0])} out of range for a {rank}-D input")
    shape = tuple(x.shape[:a]) + (1,) + tuple(x.shape[a:])
    same_bytes_prepare(g, op, shape)
