"""SPLIT (inputs: axis, input; options num_splits) into equal parts along one axis; a copy
(int8, int16, int32, float32 as TFLite Micro). Kernel inputs: [input]; params: [outer,
in_chunk, chunk_0, ..., chunk_{n-1}] where outer is the product of the dims before the axis,
in_chunk the input's elements per outer block and chunk_i = output i's axis dim * the product of
the dims after it: output i takes, from each outer block, chunk_i elements after those of
outputs 0..i-1 (CONCATENATION's layout, read backwards)."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from .common import need, need_const, need_dtype

DTYPES = ("int8", "int16", "int32", "float32")
C_MAX_OUTPUTS = 15  # the C record's pointer table (ert_kernels.h ERT_MAX_PTRS = 16, one is the input)


def const_axis(g: Graph, tid: int, rank: int) -> int:
    need_dtype(g, tid, "axis", "int32")
    a = need_const(g, tid, "axis").reshape(-1)
    need(a.size == 1, f"axis must hold one value, has {a.size}")
    axis = int(a[0])
    need(-rank <= axis < rank, f"axis {axis} out of range for a {rank}-D input")
    return axis + rank if axis < 0 else axis


def split_params(g: Graph, op: Op, x_tid: int, axis: int, sizes: list[int]) -> None:
    """Check each output against its share of the input and set the kernel inputs and params."""
    x = g.tensors[x_tid]
    need(sum(sizes) == x.shape[axis], f"splits {sizes} sum to {sum(sizes)}; axis {axis} has {x.shape[axis]}")
    inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    chunks = []
    for k, (tid, n) in enumerate(zip(op.outputs, sizes)):
        y = need_dtype(g, tid, f"output {k}", x.dtype)
        want = tuple(x.shape[:axis]) + (n,) + tuple(x.shape[axis + 1:])
        need(tuple(y.shape) == want, f"output {k} has shape {list(y.shape)}, expected {list(want)}")
        chunks.append(n * inner)
    op.kernel_inputs = [x_tid]
    op.params = [int(np.prod(x.shape[:axis], dtype=np.int64)), x.shape[axis] * inner] + chunks
    op.scratch_bytes = 0
    if op.kernel_set == "c" and len(op.outputs) > C_MAX_OUTPUTS:
        op.kernel_set = "np"  # the C chain's next set, same params: more parts than a C record holds


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 2, f"expected 2 inputs (axis, input), got {len(op.inputs)}")
    x = need_dtype(g, op.inputs[1], "input", *DTYPES)
    axis = const_axis(g, op.inputs[0], len(x.shape))
    n = len(op.outputs)
    need(n >= 1 and n == op.options.get("num_splits", n), f"{n} outputs for num_splits {op.options.get('num_splits')}")
    need(x.shape[axis] % n == 0, f"axis {axis} of size {x.shape[axis]} does not split into {n} equal parts")
    split_params(g, op, op.inputs[1], axis, [x.shape[axis] // n] * n)
