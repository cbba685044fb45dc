"""Small graph queries shared by the passes."""
from __future__ import annotations

from ..ir import Graph


def single_consumer(g: Graph, tid: int, consumers: dict) -> int | None:
    """The index of the only op reading tid, or None (several readers, or a graph output)."""
    users = consumers.get(tid, [])
    if len(users) != 1 or tid in g.outputs:
        return None
    return users[0]


def same_quant(a, b) -> bool:
    return (a.scale is not None and b.scale is not None and len(a.scale) == len(b.scale) == 1
            and float(a.scale[0]) == float(b.scale[0]) and int(a.zero_point[0]) == int(b.zero_point[0])
            and a.dtype == b.dtype)


def drop_ops(g: Graph, dead: set) -> Graph:
    g.ops = [op for i, op in enumerate(g.ops) if i not in dead]
    return g
