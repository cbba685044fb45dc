"""UNPACK (int8, int16, int32, float32 as TFLite Micro): the input split along `axis` into
num = shape[axis] outputs without that axis. Values move unchanged. Kernel inputs: [input];
params: [num, base_0, ..., base_{num-1}] + one strided copy plan (prepare/strided.py) over an
output's elements in order, read from the input at its strides without the axis; output k
starts at input element base_k = k * stride(axis)."""
from ..ir import Graph, Op
from .common import need, need_dtype
from .strided import contiguous, copy_params

DTYPES = ("int8", "int16", "int32", "float32")


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 1 and len(op.outputs) >= 1, "expected 1 input and at least 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    rank = len(x.shape)
    need(rank >= 1, "input is a scalar; nothing to unpack")
    axis = op.options.get("axis", 0)
    a = axis + rank if axis < 0 else axis
    need(0 <= a < rank, f"axis {axis} out of range for a {rank}-D input")
    num = x.shape[a]
    need(op.options.get("num", num) in (0, num) and len(op.outputs) == num,
         f"{len(op.outputs)} outputs (num {op.options.get('num')}) for axis {a} of size {num}")
    want = tuple(x.shape[:a]) + tuple(x.shape[a + 1:])
    for k, tid in enumerate(op.outputs):
        y = need_dtype(g, tid, f"output {k}", x.dtype)
        need(tuple(y.shape) == want, f"output {k} shape {tuple(y.shape)} != {want}")
    xs = contiguous(x.shape)
    op.kernel_inputs = [op.inputs[0]]
    op.params = [num] + [k * xs[a] for k in range(num)] + copy_params(want, xs[:a] + xs[a + 1:])
