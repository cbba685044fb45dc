"""TRANSPOSE (int8, int16, float32 as TFLite Micro; up to 5-D): output axis d is input
axis perm[d] (perm: the constant second input). Kernel inputs: [input]; params: the strided
copy plan (prepare/strided.py) walking the output in order, the input at permuted strides.
Bytes move unchanged: like TFLite Micro, the output's quantization is not consulted."""

from ..ir import Graph, Op
from .common import need, need_const, need_dtype
from .strided import contiguous, copy_params

DTYPES = ("int8", "int16", "float32")  # TFLite Micro: no int32
MAX_RANK = 5  # TFLite Micro: "only supports 1D-5D input arrays"


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 2 and len(op.outputs) == 1, "expected 2 inputs (input, perm) and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    need_dtype(g, op.inputs[1], "perm", "int32")
    perm = [int(p) for p in need_const(g, op.inputs[1], "perm").reshape(-1)]
    rank = len(x.shape)
    need(rank <= MAX_RANK, f"input has {rank} dimensions; supported: up to {MAX_RANK}")
    need(len(perm) == rank, f"perm {perm} has {len(perm)} entries for a {rank}-D input")
    perm = [p + rank if p < 0 else p for p in perm]
    need(sorted(perm) == list(range(rank)), f"perm {perm} is not a permutation of 0..{rank - 1}")
    want = tuple(x.shape[p] for p in perm)
    need(tuple(y.shape) == want, f"output shape {tuple(y.shape)} != permuted input shape {want}")
    xs = contiguous(x.shape)
    op.kernel_inputs = [op.inputs[0]]
    op.params = copy_params(want, [xs[p] for p in perm])
