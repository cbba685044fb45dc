"""Patch-based streaming of the first stages (runs after prepare: it needs the prepared ops'
geometry and the planner's view of their scratch and row overlaps)."""
from __future__ import annotations

from ..ir import Graph, Op
from ..planner import lifetimes, lower_bound, plan, root
from ..prepare.common import OpProblem
from ..prepare.patch_stream import PATCHABLE, make_patch_op, patch_cost, skip_sources, sub_geometry

MAX_EXTRA_MACS = 0.15   # recompute budget: extra MACs / the model's MACs
MAX_GRID = 8            # patches per side tried


def model_macs(g: Graph) -> int:
    """Convolution-like MACs of a prepared graph (fused ops counted by their parts)."""
    total = 0
    for op in g.ops:
        if op.type in PATCHABLE:
            geo = sub_geometry(g, op)
            total += geo.oh * geo.ow * geo.macs_px
        elif op.type == "PATCH_STREAM":
            total += op.options["macs"]
        elif op.type in ("FULLY_CONNECTED", "FULLY_CONNECTED_ADD"):
            w = g.tensors[op.inputs[1]].shape
            total += g.tensors[op.outputs[0]].size * w[-1]
    return total


def _chain(g: Graph) -> list[Op]:
    """The longest run of schedule-leading pure-Python row-streaming ops from a graph input,
    each reading the previous one's output (a residual may also add an earlier chain tensor)."""
    chain = []
    for op in g.ops:
        if op.type not in PATCHABLE or op.kernel_set != "ref":
            break
        x = op.inputs[0]
        if chain and x != chain[-1].outputs[0] or not chain and x not in g.inputs:
            break
        t = g.tensors[x]
        if t.dtype != "int8" or len(t.shape) != 4 or t.shape[0] != 1:
            break
        try:
            skip_sources(chain + [op])
        except OpProblem:
            break
        chain.append(op)
    return chain


def _cut_ok(g: Graph, chain: list[Op], k: int, consumers: dict) -> bool:
    """Cutting after chain[k-1] hides chain[:k-1]'s outputs: nothing outside may read them."""
    outs = {root(g, t) for t in g.outputs}
    for o in chain[:k - 1]:
        y = o.outputs[0]
        if root(g, y) in outs or any(c >= k for c in consumers.get(y, [])):
            return False
    return True


def stream_patches(g: Graph, ks: str = "ref"):
    """CONV_2D / DEPTHWISE_CONV_2D / DS_CONV_2D chain from the input  =>  PATCH_STREAM (ny x nx patches, halos recomputed)"""
    chain = _chain(g)
    if ks != "ref" or len(chain) < 2:
        return g, ""
    base = lower_bound(lifetimes(g))
    budget = MAX_EXTRA_MACS * model_macs(g)
    geos = [sub_geometry(g, o) for o in chain]
    consumers = g.consumers()
    best = None
    for k in range(2, len(chain) + 1):
        if not _cut_ok(g, chain, k, consumers):
            continue
        for ny in range(1, MAX_GRID + 1):
            for nx in range(1, MAX_GRID + 1):
                if ny * nx == 1:
                    continue
                macs, whole = patch_cost(geos[:k], ny, nx)[3:]
                if macs - whole > budget:
                    continue
                try:
                    op = make_patch_op(g, chain[:k], ny, nx)
                except OpProblem:
                    continue
                old = g.ops
                g.ops = [op] + old[k:]
                peak = lower_bound(lifetimes(g))
                g.ops = old
                cand = (peak, macs - whole, k, ny, nx)
                if peak < base and (best is None or cand[:2] < best[0][:2]):
                    best = (cand, op)
    if best is None:
        return g, ""
    (peak, extra, k, ny, nx), op = best
    old = g.ops
    before = plan(g).arena_bytes
    g.ops = [op] + old[k:]
    after = plan(g).arena_bytes
    g.ops = old
    if after >= before:  # the planner's verified arena must agree with its bound
        return g, ""
    op.options["macs"] = extra + sum(geo.oh * geo.ow * geo.macs_px for geo in geos[:k])
    op.options["extra_macs"] = extra
    total = model_macs(g)
    g.ops = [op] + g.ops[k:]
    return g, (f"streamed {k} ops as {ny}x{nx} patches; activation lower bound {base:,} -> {peak:,} B; "
               f"recompute +{extra:,} MACs ({100 * extra / max(total, 1):.1f}% of {total:,})")
