"""SPLIT_V (inputs: input, size_splits, axis): SPLIT with given part sizes along the axis, one
of them -1 (the rest of the axis). Same kernel inputs and params as SPLIT (prepare/split.py)."""
from __future__ import annotations

from ..ir import Graph, Op
from .common import need, need_const, need_dtype
from .split import DTYPES, const_axis, split_params


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 3, f"expected 3 inputs (input, size_splits, axis), got {len(op.inputs)}")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    axis = const_axis(g, op.inputs[2], len(x.shape))
    need_dtype(g, op.inputs[1], "size_splits", "int32", "int64")
    sizes = [int(s) for s in need_const(g, op.inputs[1], "size_splits").reshape(-1)]
    need(len(sizes) == len(op.outputs), f"{len(sizes)} split sizes for {len(op.outputs)} outputs")
    need(sizes.count(-1) <= 1 and all(s >= -1 for s in sizes), f"split sizes {sizes}: at most one -1, no other negative")
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - sum(s for s in sizes if s >= 0)
    split_params(g, op, op.inputs[0], axis, sizes)
