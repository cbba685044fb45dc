"""Remove RESHAPE, SQUEEZE and EXPAND_DIMS: they only relabel the shape of bytes that stay in place."""
from __future__ import annotations

from ..ir import Graph

ALIAS_OPS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")


def _root(g: Graph, tid: int) -> int:
    while g.tensors[tid].alias_of is not None:
        tid = g.tensors[tid].alias_of
    return tid


def eliminate_reshape(g: Graph) -> tuple[Graph, str]:
    """RESHAPE(x) -> y  =>  y aliases x (op removed; SQUEEZE, EXPAND_DIMS likewise)

    Row-major order is unchanged by a reshape, so y's bytes are exactly x's. Kept when:
    - y is a graph output and x (through any alias) a graph input: the copy is the whole
      point then, and the user's input buffer must not become the output;
    - the byte sizes or dtypes differ (a malformed op: prepare reports it);
    - y is produced twice or is a graph input (malformed graph)."""
    inputs = set(g.inputs)
    outputs = set(g.outputs)
    produced: dict[int, int] = {}
    for op in g.ops:
        for t in op.outputs:
            produced[t] = produced.get(t, 0) + 1
    keep, removed = [], {}
    for op in g.ops:
        if op.type not in ALIAS_OPS or len(op.outputs) != 1 or not op.inputs or op.inputs[0] < 0:
            keep.append(op)
            continue
        x, y = op.inputs[0], op.outputs[0]
        tx, ty = g.tensors[x], g.tensors[y]
        ok = (tx.dtype == ty.dtype and tx.nbytes == ty.nbytes and not tx.is_const
              and not ty.is_const and produced.get(y) == 1 and y not in inputs and x != y
              and not (y in outputs and _root(g, x) in {_root(g, t) for t in inputs}))
        if not ok:
            keep.append(op)
            continue
        ty.alias_of = x
        removed[op.type] = removed.get(op.type, 0) + 1
    if not removed:
        return g, ""
    g.ops = keep
    return g, "removed " + ", ".join(f"{n} {t}" for t, n in sorted(removed.items())) + " (outputs alias inputs)"
