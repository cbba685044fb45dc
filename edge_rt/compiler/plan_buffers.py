"""The planner's data model (compiler/planner.py): buffers with lifetimes, the plan, the
alignment every offset and size keeps."""
from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph

ALIGN = 16


def _round(n: int) -> int:
    # a zero-byte tensor still gets one aligned slot, so every buffer has a top to rest on
    return max(ALIGN, (n + ALIGN - 1) // ALIGN * ALIGN)


@dataclass
class Buffer:
    key: tuple          # ("t", root tensor id) or ("scratch", op index)
    size: int           # bytes, rounded up to ALIGN
    first: int
    last: int
    shares: tuple | None = None   # key of the buffer this one overwrites in place at `first`
    persistent: bool = False      # a state tensor: lives across invokes, in the state region
    # row overlap (ROWWISE): (input key, min offset d, output row bytes, input row bytes,
    # input rows, needs) -- needs[r] = first input row still read once output row r is written
    overlap: tuple | None = None
    # placement units only: partner unit key -> ("ge" | "le", a): the unit may share bytes
    # with that partner when (own offset - partner's offset) >= a (resp. <= a)
    allow: dict | None = None

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
    inplace: int = 0    # in-place pairs used by the chosen plan
    state_bytes: int = 0  # the persistent state region [0, state_bytes) (arena_bytes includes it)
    overlaps: int = 0   # row-overlap pairs whose bytes the chosen plan actually overlaps


def root(g: Graph, tid: int) -> int:
    while g.tensors[tid].alias_of is not None:
        tid = g.tensors[tid].alias_of
    return tid


