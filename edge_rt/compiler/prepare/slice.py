"""SLICE (int8, int16, int32, float32 as TFLite Micro; up to 5-D): the block of the input
starting at `begin` with extent `size` (both constant int32 inputs; a size of -1 runs to the
end of the axis). Kernel inputs: [input]; params: [start] + the strided copy plan
(prepare/strided.py) walking the output in order, start the block's first input element."""
from ..ir import Graph, Op
from .common import need, need_const, need_dtype
from .strided import contiguous, copy_params

DTYPES = ("int8", "int16", "int32", "float32")
MAX_RANK = 5  # TFLite Micro's kMaxDim


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 3 and len(op.outputs) == 1, "expected 3 inputs (input, begin, size) and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    rank = len(x.shape)
    need(rank <= MAX_RANK, f"input has {rank} dimensions; supported: up to {MAX_RANK}")
    need_dtype(g, op.inputs[1], "begin", "int32")
    need_dtype(g, op.inputs[2], "size", "int32")
    begin = [int(b) for b in need_const(g, op.inputs[1], "begin").reshape(-1)]
    size = [int(s) for s in need_const(g, op.inputs[2], "size").reshape(-1)]
    need(len(begin) == rank and len(size) == rank,
         f"begin {begin} and size {size} need {rank} values for a {rank}-D input")
    ext = []
    for d in range(rank):
        s = x.shape[d] - begin[d] if size[d] == -1 else size[d]
        need(0 <= begin[d] and 0 <= s and begin[d] + s <= x.shape[d],
             f"axis {d}: begin {begin[d]} size {size[d]} outside the input's {x.shape[d]}")
        ext.append(s)
    need(tuple(y.shape) == tuple(ext), f"output shape {tuple(y.shape)} != slice shape {tuple(ext)}")
    xs = contiguous(x.shape)
    op.kernel_inputs = [op.inputs[0]]
    op.params = [sum(b * s for b, s in zip(begin, xs))] + copy_params(ext, xs)
