"""READ_VARIABLE(s) -> t  =>  t aliases the state tensor s (op removed), where that is safe."""
from __future__ import annotations

from ..ir import Graph
from .util import drop_ops


def _root(g: Graph, tid: int) -> int:
    while g.tensors[tid].alias_of is not None:
        tid = g.tensors[tid].alias_of
    return tid


def alias_read_variable(g: Graph):
    """READ_VARIABLE(s) -> t  =>  t aliases s (no copy), unless s may change while t is still read

    t (with every tensor aliasing it) then reads the state's bytes directly. Safe when no
    ASSIGN_VARIABLE to s runs after the read and before t's last reader (an assignment at the
    last reader itself is that reader: it copies t, i.e. s, onto s). Kept as a copy when t is
    a graph input or output, or dtypes or sizes differ."""
    io = set(g.inputs) | set(g.outputs)
    dead = set()
    for i, op in enumerate(g.ops):
        if op.type != "READ_VARIABLE" or len(op.inputs) != 1 or len(op.outputs) != 1:
            continue
        s, t = op.inputs[0], op.outputs[0]
        ts, tt = g.tensors[s], g.tensors[t]
        if not ts.is_state or tt.dtype != ts.dtype or tt.nbytes != ts.nbytes or tt.alias_of is not None:
            continue
        group = {x for x in range(len(g.tensors)) if _root(g, x) == t}
        if group & io:
            continue
        readers = [j for j, o in enumerate(g.ops) if j != i and any(x in group for x in o.inputs)]
        last = max(readers, default=i)
        writes = [j for j, o in enumerate(g.ops) if o.type == "ASSIGN_VARIABLE" and s in o.outputs]
        if any(i < j < last for j in writes):
            continue
        tt.alias_of = s
        dead.add(i)
    n = len(dead)
    return drop_ops(g, dead), (f"{n} READ_VARIABLE output(s) alias their state (no copy)" if n else "")
