"""READ_VARIABLE / ASSIGN_VARIABLE (compiler/importers/variables.py): a byte copy from the state
tensor (READ) or into it (ASSIGN), between tensors of one dtype and element count, as TFLite
Micro's memcpy. Kernel inputs: [source]; outputs: [destination]; no params."""
from __future__ import annotations

from ..ir import Graph, Op
from .common import need


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 1 and len(op.outputs) == 1, "expected one source and one destination")
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    need(x.dtype == y.dtype and x.nbytes == y.nbytes,
         f"{x.name} ({x.dtype} {list(x.shape)}) and {y.name} ({y.dtype} {list(y.shape)}) differ in dtype or size")
    op.kernel_inputs = [op.inputs[0]]
    op.params = []
    op.scratch_bytes = 0
