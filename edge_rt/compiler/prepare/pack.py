"""PACK (int8, int16, int32, float32 as TFLite Micro): N inputs of one shape stacked along a
new output axis `axis` (negative counts from the end of the output). Values move unchanged.
Kernel inputs: the N inputs; params: [N, base_0, ..., base_{N-1}] + one strided copy plan
(prepare/strided.py) over an input's elements in order, into the output at its strides
without the new axis; input k starts at output element base_k = k * stride(axis)."""
from ..ir import Graph, Op
from .common import need, need_dtype
from .strided import contiguous, copy_params

DTYPES = ("int8", "int16", "int32", "float32")


def prepare(g: Graph, op: Op, ks: str) -> None:
    n = len(op.inputs)
    need(1 <= n and len(op.outputs) == 1, "expected at least 1 input and 1 output")
    need(op.options.get("values_count", n) in (0, n), f"values_count {op.options.get('values_count')} != {n} inputs")
    y = need_dtype(g, op.outputs[0], "output", *DTYPES)
    shape = tuple(g.tensors[op.inputs[0]].shape)
    for k, tid in enumerate(op.inputs):
        x = need_dtype(g, tid, f"input {k}", y.dtype)
        need(tuple(x.shape) == shape, f"input {k} shape {tuple(x.shape)} != input 0 shape {shape}")
    rank = len(shape) + 1
    axis = op.options.get("axis", 0)
    a = axis + rank if axis < 0 else axis
    need(0 <= a < rank, f"axis {axis} out of range for a {rank}-D output")
    want = shape[:a] + (n,) + shape[a:]
    need(tuple(y.shape) == want, f"output shape {tuple(y.shape)} != stacked shape {want}")
    ys = contiguous(want)
    op.kernel_inputs = list(op.inputs)
    op.params = [n] + [k * ys[a] for k in range(n)] + copy_params(shape, contiguous(shape), ys[:a] + ys[a + 1:])
