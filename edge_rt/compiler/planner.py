"""Static memory planner: every activation and every op's scratch gets an arena offset.

1. Lifetimes: a buffer lives from the op that writes it (graph inputs: step 0) to the last
   op that reads it (graph outputs: the last step), both ends inclusive, because an op reads
   its inputs while it writes its outputs. Op scratch lives at its op only. Tensors aliasing
   another tensor (RESHAPE/SQUEEZE removed by a pass) share its buffer, whose lifetime covers
   theirs.
2. In place: an op listed in INPLACE may write its output over one input that dies at that
   op (same dtype and element count, an activation, not a graph input or output). The output
   buffer then `shares` the input's bytes: both get one offset, and the two are planned as one
   unit whose lifetime is the union of theirs.
3. Placement strategies are plain functions (units) -> offsets (or None: not applicable);
   every one is tried, with and without in-place sharing.
4. Each result is checked by `verify` against the original buffers (no two buffers share a
   byte while both live, except an in-place pair at its hand-over step; every offset aligned);
   the smallest verified arena wins.
5. The lower bound is the largest sum of live unit sizes at any step (in-place pairs counted
   once, a row-overlap pair by its smallest joint span): no placement of these lifetimes can
   use less.
6. Row overlap (ops in ROWWISE, pure-Python kernels): an op that writes its output row by row
   while it reads its input row by row may put the output partly over an input that dies at
   that op, the output starting at least `d` bytes below the input (partial overlap with an
   offset), so that output row r never lands on an input row the op still reads once row r
   is written. The pair stays two buffers; placement treats only the bytes that d rules out
   as busy, and `verify` checks the pair row by row (docs/memory.md, "Row overlap").
7. State (the variables of streaming models, Tensor.is_state, and every tensor aliasing one)
   is persistent: it must keep its bytes from one invoke to the next. It gets its own region
   at the start of the arena, [0, state_bytes), one variable after another; steps 1-6 plan the
   scratch above it. The verifier sees the state as buffers live at every step, and checks
   that nothing else touches the region. Reported apart: Plan.state_bytes (docs/memory.md)."""
from __future__ import annotations

import os
import random
import sys
from dataclasses import replace

from .ir import Graph
from .plan_buffers import ALIGN, Buffer, Plan, _round, root  # noqa: F401  (re-exported)
from .plan_state import place_state, state_buffers  # noqa: F401
from .plan_verify import arena_size, overlapping, verify  # noqa: F401
from .row_overlap import ROWWISE, ROWWISE_SETS, mark_overlap, overlap_savings, row_overlap, rows_ok  # noqa: F401

# Op type -> positions in op.inputs whose buffer the output may take over. Safe because every
# output element depends only on the input element(s) of the same index, and the kernels read
# those before writing that output element (docs/memory.md). Broadcast inputs never qualify
# (their element count differs from the output's); QUANTIZE qualifies only when the dtype does
# not change (int8 -> int8 requantization), which the same-dtype rule enforces.
INPLACE = {
    "ADD": (0, 1), "SUB": (0, 1), "MUL": (0, 1),
    "RELU": (0,), "RELU6": (0,), "LEAKY_RELU": (0,), "LOGISTIC": (0,), "TANH": (0,),
    "HARD_SWISH": (0,), "QUANTIZE": (0,), "LOOKUP": (0,),
    # fused ops (compiler/passes/fuse.py): the residual sum may overwrite the skip tensor (its
    # last input); the depthwise-separable op streams rows and keeps a ring of the input rows
    # it still needs, which is only correct when output row r lies exactly over input row r.
    "CONV_2D_ADD": (-1,), "FULLY_CONNECTED_ADD": (-1,), "DS_CONV_2D": (0,),
}
SAME_SHAPE_ONLY = ("DS_CONV_2D",)


EXACT_MAX_UNITS = 14        # exact search above this many units would take too long
EXACT_NODE_LIMIT = 30_000   # candidates tried before the best plan found so far is kept
RANDOM_ORDERS = 48          # seeded random orders tried by best_of_orders


# -- lifetimes ---------------------------------------------------------------------------
def lifetimes(g: Graph, inplace: bool = True) -> list[Buffer]:
    last_step = max(len(g.ops) - 1, 0)
    spans: dict[int, list[int]] = {}

    def touch(tid: int, step: int) -> None:
        if tid < 0 or g.tensors[tid].is_const:
            return
        r = root(g, tid)
        if g.tensors[r].is_state:
            return  # persistent: planned by state_buffers, not by lifetime
        s = spans.setdefault(r, [step, step])
        s[0], s[1] = min(s[0], step), max(s[1], step)

    for tid in g.inputs:
        touch(tid, 0)
    for i, op in enumerate(g.ops):
        for tid in (op.kernel_inputs or op.inputs):
            touch(tid, i)
        for tid in op.outputs:
            touch(tid, i)
    for tid in g.outputs:
        touch(tid, last_step)
    roots = {t: root(g, t) for t in range(len(g.tensors))}
    bufs = []
    for r, (a, b) in spans.items():
        size = max(g.tensors[t].nbytes for t, rt in roots.items() if rt == r)
        bufs.append(Buffer(("t", r), _round(size), a, b))
    for i, op in enumerate(g.ops):
        if op.scratch_bytes:
            bufs.append(Buffer(("scratch", i), _round(op.scratch_bytes), i, i))
    if inplace:
        _mark_inplace(g, bufs, roots)
    return bufs


def _mark_inplace(g: Graph, bufs: list[Buffer], roots: dict) -> None:
    by_key = {b.key: b for b in bufs}
    io_roots = {roots[t] for t in list(g.inputs) + list(g.outputs)}
    taken = set()
    for i, op in enumerate(g.ops):
        if op.type not in INPLACE or len(op.outputs) != 1:
            continue
        out = g.tensors[op.outputs[0]]
        ob = by_key.get(("t", roots[op.outputs[0]]))
        if ob is None:  # the output is state (assign_in_place): it lives in the state region
            continue
        for k in INPLACE[op.type]:
            tid = op.inputs[k] if k < len(op.inputs) else -1
            if tid < 0 or g.tensors[tid].is_const:
                continue
            t, r = g.tensors[tid], roots[tid]
            ib = by_key.get(("t", r))
            # the user may read a graph input again, and a graph output must survive the run
            if ib is None or r in io_roots or r in taken:
                continue
            if t.dtype != out.dtype or t.size != out.size or ib.size != ob.size:
                continue
            if op.type in SAME_SHAPE_ONLY and tuple(t.shape) != tuple(out.shape):
                continue
            if ib.last == i and ob.first == i and ib is not ob:
                ob.shares = ib.key
                taken.add(r)
                break
    mark_overlap(g, by_key, roots, io_roots, taken)


def units(bufs: list[Buffer]) -> tuple[list[Buffer], dict]:
    """Merge in-place chains into single placement units: (units, buffer key -> unit key).
    A row-overlap pair stays two units, each told the offsets at which it may overlap the other."""
    head = {b.key: b.shares for b in bufs}
    unit_of = {}
    for b in bufs:
        k = b.key
        while head.get(k) is not None:
            k = head[k]
        unit_of[b.key] = k
    merged: dict = {}
    for b in bufs:
        u = merged.get(unit_of[b.key])
        if u is None:
            merged[unit_of[b.key]] = Buffer(unit_of[b.key], b.size, b.first, b.last)
        else:
            u.size, u.first, u.last = max(u.size, b.size), min(u.first, b.first), max(u.last, b.last)
    for b in bufs:
        if b.overlap is not None and b.overlap[0] in unit_of:
            uo, ui = merged[unit_of[b.key]], merged[unit_of[b.overlap[0]]]
            if uo is not ui:
                d = b.overlap[1]
                ui.allow = dict(ui.allow or {}, **{repr(uo.key): ("ge", d)})
                uo.allow = dict(uo.allow or {}, **{repr(ui.key): ("le", -d)})
    return list(merged.values()), unit_of


def _live_per_step(bufs: list[Buffer]) -> list[int]:
    steps = max((b.last for b in bufs), default=-1) + 1
    live = [0] * steps
    for b in bufs:
        for s in range(b.first, b.last + 1):
            live[s] += b.size
    return live


def live_bytes(bufs: list[Buffer]) -> list[int]:
    """Live bytes at each step, an in-place pair counted once, a row-overlap pair by its
    smallest joint span."""
    live = _live_per_step(units(bufs)[0])
    for step, saved in overlap_savings(bufs):
        live[step] -= saved
    return live


def lower_bound(bufs: list[Buffer]) -> int:
    """Largest of live_bytes: no placement of these lifetimes can use less."""
    return max(live_bytes(bufs), default=0)


def sequential_bound(g: Graph) -> int:
    """The lower bound of g's schedule with every tensor whole and nothing in place or
    overlapped: what a sequential planner (TFLite Micro's) can reach at best."""
    return lower_bound(lifetimes(g, inplace=False))


# -- placement strategies ------------------------------------------------------------------
def _place_in_order(bufs: list[Buffer], order) -> dict:
    """Place buffers in the given order, each at the lowest offset free over its lifetime."""
    placed: list[tuple[int, Buffer]] = []
    offsets = {}
    for i in order:
        b = bufs[i]
        # open intervals of start offsets that would clash with a placed, time-overlapping unit
        busy = sorted(_forbidden(b, o, p) for o, p in placed if p.overlaps_in_time(b))
        off = 0
        for lo, hi in busy:
            if lo < off < hi:
                off = hi
        placed.append((off, b))
        offsets[b.key] = off
    return offsets


def _forbidden(b: Buffer, o: int, p: Buffer) -> tuple[int, int]:
    """Start offsets (lo, hi), open interval, at which b would clash with p placed at o. A
    row-overlap partner rules out less: b may also sit where its `allow` entry permits."""
    lo, hi = o - b.size, o + p.size
    rule = (b.allow or {}).get(repr(p.key))
    if rule is not None:
        kind, a = rule
        if kind == "ge":      # b at o + a or higher is fine
            hi = min(hi, o + a)
        else:                 # b at o + a or lower is fine
            lo = max(lo, o + a)
    return (lo, hi) if lo < hi else (o, o)


def _conflict_bytes(bufs):
    return [sum(o.size for o in bufs if o is not b and o.overlaps_in_time(b)) for b in bufs]


def greedy_by_size(bufs):
    """Largest first, lowest free offset (TFLite Micro's greedy planner order)."""
    return _place_in_order(bufs, sorted(range(len(bufs)), key=lambda i: (-bufs[i].size, bufs[i].first)))


def first_fit_in_order(bufs):
    """In order of first use, lowest free offset."""
    return _place_in_order(bufs, sorted(range(len(bufs)), key=lambda i: (bufs[i].first, -bufs[i].size)))


def greedy_by_conflicts(bufs):
    """Buffers that overlap the most bytes of other lifetimes first."""
    w = _conflict_bytes(bufs)
    return _place_in_order(bufs, sorted(range(len(bufs)), key=lambda i: (-w[i], -bufs[i].size)))


def _orders(bufs):
    n = len(bufs)
    live = _live_per_step(bufs)
    breadth = [max(live[b.first:b.last + 1]) for b in bufs]
    w = _conflict_bytes(bufs)
    keys = [
        lambda i: (-breadth[i], -bufs[i].size, bufs[i].first),   # busiest step first
        lambda i: (-(bufs[i].last - bufs[i].first), -bufs[i].size),  # longest lifetime first
        lambda i: (-bufs[i].size * (bufs[i].last - bufs[i].first + 1), bufs[i].first),
        lambda i: (-bufs[i].last, -bufs[i].size),                 # schedule order, backwards
        lambda i: (-bufs[i].size, -w[i]),
    ]
    for k in keys:
        yield sorted(range(n), key=k)
    rng = random.Random(n)  # seeded: the same graph always gets the same plan
    base = list(range(n))
    for _ in range(RANDOM_ORDERS if n > 1 else 0):
        rng.shuffle(base)
        yield list(base)


def best_of_orders(bufs):
    """Lowest-free-offset placement in several orders (busiest step, longest life, size x
    life, reverse schedule, seeded shuffles); keeps the smallest."""
    best = None
    for order in _orders(bufs):
        offs = _place_in_order(bufs, order)
        size = arena_size(bufs, offs)
        if best is None or size < best[0]:
            best = (size, offs)
    return best[1] if best else {}


def exact_search(bufs, node_limit: int = EXACT_NODE_LIMIT):
    """Branch and bound over compacted placements, for graphs of up to EXACT_MAX_UNITS units.

    1. Any plan can be pushed down until every buffer sits at 0 or on top of a buffer that
       overlaps it in time, without growing; listing such a plan by (offset, index) gives a
       sequence where each offset is 0 or the top of an earlier, time-overlapping buffer.
    2. The search builds exactly those sequences: the next buffer goes at such a candidate
       offset, no lower than the previous one (ties in index order), so it is complete.
    3. Bound: with the next buffer b at offset o, every buffer still to place sits at or above
       o, so at each step s the arena needs o + size(b if live at s) + the bytes of the rest
       live at s. Branches that cannot beat the best plan so far are cut.
    4. The best of the heuristic plans is the first incumbent; the search stops at the lower
       bound or after node_limit nodes, keeping the best plan found."""
    n = len(bufs)
    if n == 0 or n > EXACT_MAX_UNITS:
        return None
    incumbent = min((s(bufs) for s in (greedy_by_size, first_fit_in_order, greedy_by_conflicts)),
                    key=lambda o: arena_size(bufs, o))
    best = [arena_size(bufs, incumbent), incumbent]
    lb = max(_live_per_step(bufs))
    rest = _live_per_step(bufs)
    steps = len(rest)
    placed: list[tuple[int, int]] = []  # (offset, index)
    remaining = set(range(n))
    nodes = [0]

    def go(prev_off: int, prev_idx: int, peak: int) -> None:
        if not remaining:
            if peak < best[0]:
                best[0] = peak
                best[1] = {bufs[i].key: o for o, i in placed}
            return
        for i in sorted(remaining, key=lambda j: -bufs[j].size):
            b = bufs[i]
            near = [(o, o + bufs[j].size) for o, j in placed if bufs[j].overlaps_in_time(b)]
            cands = sorted({0} | {hi for _, hi in near})
            for o in cands:
                if o < prev_off or (o == prev_off and i < prev_idx):
                    continue
                if any(o < hi and lo < o + b.size for lo, hi in near):
                    continue
                nodes[0] += 1  # every evaluated candidate counts, pruned or not
                for s in range(b.first, b.last + 1):
                    rest[s] -= b.size
                bound = max(peak, o + b.size,
                            max(o + rest[s] + (b.size if b.first <= s <= b.last else 0)
                                for s in range(steps)))
                if bound < best[0]:
                    remaining.discard(i)
                    placed.append((o, i))
                    go(o, i, max(peak, o + b.size))
                    placed.pop()
                    remaining.add(i)
                for s in range(b.first, b.last + 1):
                    rest[s] += b.size
                if best[0] <= lb or nodes[0] >= node_limit:
                    return

    go(0, -1, 0)
    return best[1]


STRATEGIES = [greedy_by_size, first_fit_in_order, greedy_by_conflicts, best_of_orders, exact_search]


# -- driver ------------------------------------------------------------------------------
def plan(g: Graph, strategies=None, inplace: bool | None = None) -> Plan:
    """Smallest verified plan over every strategy, with and without in-place sharing.
    inplace=None reads EDGE_RT_NO_INPLACE (set to 1 to switch in-place off)."""
    if inplace is None:
        inplace = not os.environ.get("EDGE_RT_NO_INPLACE")
    shared = lifetimes(g, inplace=inplace)
    configs = [shared]
    if any(b.shares or b.overlap for b in shared):
        configs.append([replace(b, shares=None, overlap=None) for b in shared])
    best, tried = None, {}
    for bufs in configs:
        us, unit_of = units(bufs)
        suffix = "+inplace" if any(b.shares or b.overlap for b in bufs) else ""
        for strat in strategies or STRATEGIES:
            uoffs = strat(us)
            if uoffs is None:
                continue  # not applicable to this graph (e.g. too big for exact search)
            offs = {b.key: uoffs.get(unit_of[b.key], -1) for b in bufs}
            if verify(bufs, offs):
                continue  # a strategy bug never reaches a binary
            size = arena_size(bufs, offs)
            name = strat.__name__ + suffix
            tried[name] = size
            if best is None or size < best[0]:
                best = (size, name, offs, bufs)
    if best is None:
        raise RuntimeError("no placement strategy produced a valid plan")
    size, name, offs, bufs = best
    overlaps = overlapping(bufs, offs)
    offs, bufs, state_bytes = place_state(g, offs, bufs)
    p = Plan(offs, bufs, size + state_bytes, lower_bound(shared) + state_bytes, name, tried,
             inplace=sum(1 for b in bufs if b.shares), state_bytes=state_bytes, overlaps=overlaps)
    if os.environ.get("EDGE_RT_DEBUG"):
        print(f"edge_rt plan: {len(bufs)} buffers, {sum(b.size for b in bufs):,} B without reuse, "
              f"arena {p.arena_bytes:,} B (state {state_bytes:,} B; lower bound {p.lower_bound:,} B) by {name}, "
              f"{p.inplace} in place, {p.overlaps} row overlaps; "
              f"tried {tried}", file=sys.stderr)
    return p
