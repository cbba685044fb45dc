"""Static memory planner: every activation and every op's scratch gets an arena offset.

1. Lifetimes: a buffer lives from the op that writes it (graph inputs: step 0) to the last
   op that reads it (graph outputs: the last step). Op scratch lives at its op only.
   Tensors aliasing another tensor (RESHAPE/SQUEEZE eliminated by a pass) share its buffer,
   whose lifetime is extended over theirs.
2. Placement strategies are plain functions (buffers) -> offsets; each is tried.
3. Each result is checked by `verify` (no two buffers overlap in both time and address,
   every offset aligned); the smallest verified arena wins.
4. The lower bound is the largest sum of live buffer sizes at any step; no placement of
   these lifetimes can use less."""
from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph

ALIGN = 16


def _round(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class Buffer:
    key: tuple          # ("t", tensor id) or ("scratch", op index)
    size: int           # bytes, rounded up to ALIGN
    first: int
    last: int

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass
class Plan:
    offsets: dict       # key -> offset
    buffers: list
    arena_bytes: int
    lower_bound: int
    strategy: str
    tried: dict         # strategy -> arena bytes


def root(g: Graph, tid: int) -> int:
    while g.tensors[tid].alias_of is not None:
        tid = g.tensors[tid].alias_of
    return tid


def lifetimes(g: Graph) -> list[Buffer]:
    last_step = max(len(g.ops) - 1, 0)
    spans: dict[int, list[int]] = {}

    def touch(tid: int, step: int) -> None:
        if tid < 0 or g.tensors[tid].is_const:
            return
        r = root(g, tid)
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
    bufs = []
    for r, (a, b) in spans.items():
        members = [t for t in range(len(g.tensors)) if root(g, t) == r]
        size = max(g.tensors[t].nbytes for t in members)
        bufs.append(Buffer(("t", r), _round(size), a, b))
    for i, op in enumerate(g.ops):
        if op.scratch_bytes:
            bufs.append(Buffer(("scratch", i), _round(op.scratch_bytes), i, i))
    return bufs


def lower_bound(bufs: list[Buffer]) -> int:
    if not bufs:
        return 0
    steps = max(b.last for b in bufs) + 1
    return max(sum(b.size for b in bufs if b.first <= s <= b.last) for s in range(steps))


def _place_in_order(bufs: list[Buffer], order: list[int]) -> dict:
    """Place buffers in the given order, each at the lowest offset free over its lifetime."""
    placed: list[tuple[int, int, Buffer]] = []
    offsets = {}
    for i in order:
        b = bufs[i]
        busy = sorted((o, o + p.size) for o, _, p in placed if p.overlaps_in_time(b))
        off = 0
        for lo, hi in busy:
            if off + b.size <= lo:
                break
            off = max(off, hi)
        placed.append((off, i, b))
        offsets[b.key] = off
    return offsets


def greedy_by_size(bufs):
    """Largest first, lowest free offset (TFLite Micro's greedy planner order)."""
    return _place_in_order(bufs, sorted(range(len(bufs)), key=lambda i: (-bufs[i].size, bufs[i].first)))


def first_fit_in_order(bufs):
    """In order of first use, lowest free offset."""
    return _place_in_order(bufs, sorted(range(len(bufs)), key=lambda i: (bufs[i].first, -bufs[i].size)))


def greedy_by_conflicts(bufs):
    """Buffers that overlap the most bytes of other lifetimes first."""
    def weight(i):
        return sum(o.size for o in bufs if o is not bufs[i] and o.overlaps_in_time(bufs[i]))
    return _place_in_order(bufs, sorted(range(len(bufs)), key=lambda i: (-weight(i), -bufs[i].size)))


STRATEGIES = [greedy_by_size, first_fit_in_order, greedy_by_conflicts]


def arena_size(bufs, offsets) -> int:
    return max((offsets[b.key] + b.size for b in bufs), default=0)


def verify(bufs: list[Buffer], offsets: dict) -> list[str]:
    """Problems with a plan: unplaced or misaligned buffers, or two buffers sharing bytes
    while both are live. An empty list means the plan is valid."""
    errs = []
    for b in bufs:
        if b.key not in offsets:
            errs.append(f"{b.key} has no offset")
        elif offsets[b.key] % ALIGN:
            errs.append(f"{b.key} at {offsets[b.key]} is not {ALIGN}-byte aligned")
    if errs:
        return errs
    for i, a in enumerate(bufs):
        oa = offsets[a.key]
        for b in bufs[i + 1:]:
            ob = offsets[b.key]
            if a.overlaps_in_time(b) and oa < ob + b.size and ob < oa + a.size:
                errs.append(f"{a.key} [{oa},{oa + a.size}) steps {a.first}-{a.last} overlaps "
                            f"{b.key} [{ob},{ob + b.size}) steps {b.first}-{b.last}")
    return errs


def plan(g: Graph, strategies=None) -> Plan:
    bufs = lifetimes(g)
    best = None
    tried = {}
    for strat in strategies or STRATEGIES:
        offs = strat(bufs)
        if verify(bufs, offs):
            continue  # a strategy bug never reaches a binary
        size = arena_size(bufs, offs)
        tried[strat.__name__] = size
        if best is None or size < best[0]:
            best = (size, strat.__name__, offs)
    if best is None:
        raise RuntimeError("no placement strategy produced a valid plan")
    return Plan(best[2], bufs, best[0], lower_bound(bufs), best[1], tried)
