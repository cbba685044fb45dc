"""P -> v -> ASSIGN_VARIABLE(v) -> s  =>  P writes the state s directly (ASSIGN removed)."""
from __future__ import annotations

from ..ir import Graph
from .util import drop_ops


def _root(g: Graph, tid: int) -> int:
    while g.tensors[tid].alias_of is not None:
        tid = g.tensors[tid].alias_of
    return tid


def assign_in_place(g: Graph):
    """P -> v, ASSIGN_VARIABLE(v) -> s  =>  P -> v aliasing s (the copy is gone)

    The producer then writes the new state over the old one, earlier than the ASSIGN would
    have. Safe when nothing still needs the old value from P on: no op from P (itself
    included) up to the ASSIGN reads s or an alias of it, and no other assignment to s lies in
    between; and v is read by that ASSIGN alone, is produced once, is no graph input or output,
    has no aliases of its own, and matches s in dtype and size."""
    io = set(g.inputs) | set(g.outputs)
    producers: dict[int, list[int]] = {}
    for j, op in enumerate(g.ops):
        for t in op.outputs:
            producers.setdefault(t, []).append(j)
    dead = set()
    for k, op in enumerate(g.ops):
        if op.type != "ASSIGN_VARIABLE" or len(op.inputs) != 1 or len(op.outputs) != 1:
            continue
        v, s = op.inputs[0], op.outputs[0]
        tv, ts = g.tensors[v], g.tensors[s]
        if tv.is_const or tv.is_state or tv.alias_of is not None or v in io or not ts.is_state:
            continue
        if tv.dtype != ts.dtype or tv.nbytes != ts.nbytes or len(producers.get(v, [])) != 1:
            continue
        if any(t.alias_of == v for t in g.tensors):
            continue
        p = producers[v][0]
        if p >= k or any(v in o.inputs for j, o in enumerate(g.ops) if j != k):
            continue
        span = range(p, k)
        if any(_root(g, t) == s for j in span for t in g.ops[j].inputs if t >= 0):
            continue
        if any(s in g.ops[j].outputs for j in span):
            continue
        tv.alias_of = s
        dead.add(k)
    n = len(dead)
    return drop_ops(g, dead), (f"{n} ASSIGN_VARIABLE copies removed (the producer writes the state)" if n else "")
