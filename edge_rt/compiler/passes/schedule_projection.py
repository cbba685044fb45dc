"""Residual blocks with a projection shortcut: compute the shortcut first (runs after
prepare: the gain comes from the planner's row overlap of the prepared ops)."""
from __future__ import annotations

from ..ir import Graph, Op
from ..planner import lifetimes, live_bytes, plan
from ..prepare import PREPARE


def _variant(g: Graph, i: int, ks: str) -> list | None:
    """The schedule with op i's projection convolution moved up to the first reader of its
    input, and the ADD fused with the main path's last convolution instead; None if the
    block does not have that shape."""
    op = g.ops[i]
    if op.type != "CONV_2D_ADD":
        return None
    ctype, cins, couts, copts = op.options["conv"]
    atype, ains, aouts, aopts = op.options["add"]
    skip = ains[1] if ains[0] == couts[0] else ains[0]
    prods, cons = g.producers(), g.consumers()
    p = prods.get(skip)
    if p is None or p >= i or g.ops[p].type != "CONV_2D" or cons.get(skip) != [i] or skip in g.outputs:
        return None
    main = g.ops[p]
    x = cins[0]
    first = min(cons.get(x, [i]))
    if first > p or main.inputs[0] == x:
        return None  # the main path must start after x and not be the projection's twin
    proj = Op(ctype, list(cins), list(couts), dict(copts), source=list(op.source))
    fused = Op("CONV_2D_ADD", list(main.inputs) + [couts[0]], list(aouts),
               {"conv": (main.type, list(main.inputs), list(main.outputs), dict(main.options)),
                "add": (atype, list(ains), list(aouts), dict(aopts))},
               source=sorted(main.source + op.source))
    for o in (proj, fused):
        o.kernel_set = op.kernel_set
        PREPARE[o.type](g, o, o.kernel_set or ks)
    ops = list(g.ops)
    ops[i] = fused
    del ops[p]
    ops.insert(first, proj)
    return ops


def schedule_projection_first(g: Graph, ks: str = "ref"):
    """CONV(x)->..->CONV(t)->ADD(+CONV1x1(x))  =>  CONV1x1(x) first, CONV_2D_ADD(CONV(t), skip) (x dies at the main path's first conv)"""
    n = 0
    for i in range(len(g.ops)):
        try:
            ops = _variant(g, i, ks)
        except Exception:  # noqa: BLE001 -- a part prepare rejects: keep the schedule as it is
            ops = None
        if ops is None:
            continue
        old = g.ops
        before = live_bytes(lifetimes(g))
        g.ops = ops
        after = live_bytes(lifetimes(g))
        # the block's own peak must drop (another step may hold the model's peak) and the
        # model's must not grow; then the planner must agree
        lo = min(k for k, (a, b) in enumerate(zip(old, ops)) if a is not b)
        if (max(after[lo:i + 1]) < max(before[lo:i + 1]) and max(after) <= max(before)
                and plan(g).arena_bytes <= plan(Graph(g.tensors, old, g.inputs, g.outputs)).arena_bytes):
            n += 1
        else:
            g.ops = old
    return g, (f"moved {n} projection shortcut(s) ahead of their block" if n else "")
