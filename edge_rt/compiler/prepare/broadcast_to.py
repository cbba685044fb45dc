"""BROADCAST_TO (int8, int16, int32, float32; up to 5-D as TFLite Micro): the input repeated
to the constant `shape` by numpy's rule (align the shapes right; a size-1 input axis, or a
missing one, repeats). Values move unchanged. Kernel inputs: [input]; params: the strided
copy plan (prepare/strided.py) walking the output, stride 0 on the repeated axes."""
from ..ir import Graph, Op
from .common import need, need_const, need_dtype
from .strided import contiguous, copy_params

DTYPES = ("int8", "int16", "int32", "float32")
MAX_RANK = 5  # TFLite Micro's kMaxDims


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 2 and len(op.outputs) == 1, "expected 2 inputs (input, shape) and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    need_dtype(g, op.inputs[1], "shape", "int32")
    shape = tuple(int(d) for d in need_const(g, op.inputs[1], "shape").reshape(-1))
    rank = len(shape)
    need(rank <= MAX_RANK, f"shape has {rank} dimensions; supported: up to {MAX_RANK}")
    need(len(x.shape) <= rank, f"input shape {tuple(x.shape)} has more dimensions than shape {shape}")
    need(tuple(y.shape) == shape, f"output shape {tuple(y.shape)} != requested shape {shape}")
    xe = (1,) * (rank - len(x.shape)) + tuple(x.shape)
    for d in range(rank):
        need(xe[d] in (1, shape[d]), f"input shape {tuple(x.shape)} does not broadcast to {shape} (axis {d})")
    xs = contiguous(xe)
    op.kernel_inputs = [op.inputs[0]]
    op.params = copy_params(shape, [0 if xe[d] == 1 and shape[d] != 1 else xs[d] for d in range(rank)])
