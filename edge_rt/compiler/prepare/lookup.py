"""LOOKUP (made by the fuse_lookup_chain pass): y = table[x + 128] for int8 x.
Kernel inputs: [input, table(int8, 256)]; no params (the LOGISTIC/TANH kernels' layout)."""
from ..ir import Graph, Op
from .common import need, need_const, need_dtype


def prepare(g: Graph, op: Op, ks: str) -> None:
    need_dtype(g, op.inputs[0], "input", "int8")
    y = need_dtype(g, op.outputs[0], "output", "int8")
    table = need_const(g, op.inputs[1], "table")
    need(table.shape == (256,) and table.dtype.name == "int8", "table must be 256 int8 values")
    op.kernel_inputs = [op.inputs[0], op.inputs[1]]
    op.params = []
    if ks == "np":
        from ...kernels.np._table import scratch_bytes
        op.scratch_bytes = scratch_bytes(y.size)
