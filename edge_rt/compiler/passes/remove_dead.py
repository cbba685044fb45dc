"""Ops whose outputs nobody reads  =>  removed; identity QUANTIZE  =>  removed."""
from __future__ import annotations

from ..ir import Graph
from ..planner import root
from .util import drop_ops, same_quant


def remove_identity_requantize(g: Graph):
    """QUANTIZE(x) with equal input/output quantization  =>  x (op removed)

    An int8 -> int8 QUANTIZE between identical grids multiplies by exactly 1.0, which the
    reference computes as the identity; its readers are rewired to its input."""
    dead = set()
    for i, op in enumerate(g.ops):
        if op.type != "QUANTIZE":
            continue
        x, y = op.inputs[0], op.outputs[0]
        tx, ty = g.tensors[x], g.tensors[y]
        if tx.dtype != "int8" or not same_quant(tx, ty) or y in g.outputs or x in g.inputs:
            continue
        for other in g.ops:
            other.inputs = [x if t == y else t for t in other.inputs]
        dead.add(i)
    n = len(dead)
    return drop_ops(g, dead), (f"removed {n} identity QUANTIZE op(s)" if n else "")


def remove_dead(g: Graph):
    """OP whose outputs are never read and are not graph outputs  =>  removed"""
    removed = 0
    while True:
        # a tensor is read if it, or any tensor aliasing the same bytes, is read
        live = {root(g, t) for op in g.ops for t in op.inputs if t >= 0}
        live |= {root(g, t) for t in g.outputs}
        live |= set(g.state)  # the next invoke reads the state: its assignments are never dead
        dead = {i for i, op in enumerate(g.ops) if all(root(g, t) not in live for t in op.outputs)}
        if not dead:
            break
        removed += len(dead)
        drop_ops(g, dead)
    return g, (f"removed {removed} dead op(s)" if removed else "")
