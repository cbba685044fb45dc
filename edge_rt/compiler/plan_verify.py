"""Plan verification (planner.py step 4), written independently of the placement strategies:
every buffer placed and aligned, the state region held by state only, and no two buffers sharing
a byte while both live, except an in-place pair at its hand-over step and a row-overlap pair
whose rows do not clash (checked row by row: row_overlap.rows_ok)."""
from __future__ import annotations

from .plan_buffers import ALIGN, Buffer
from .row_overlap import rows_ok


def arena_size(bufs, offsets) -> int:
    return max((offsets[b.key] + b.size for b in bufs), default=0)


def _inplace_ok(a: Buffer, b: Buffer, oa: int, ob: int) -> bool:
    """a and b may share bytes: one overwrites the other in place, at the same offset and
    size, and they are both live only at the hand-over step."""
    if b.shares == a.key:
        a, b = a, b
    elif a.shares == b.key:
        a, b = b, a
    else:
        return False
    return oa == ob and a.size == b.size and a.last == b.first


def verify(bufs: list[Buffer], offsets: dict) -> list[str]:
    """Problems with a plan: unplaced, negative or misaligned buffers, or two buffers sharing
    bytes while both are live (an in-place pair at its hand-over step and a row-overlap pair
    whose rows do not clash excepted). An empty list means the plan is valid. Written
    independently of the strategies: a plain pairwise check."""
    errs = []
    region = sum(b.size for b in bufs if b.persistent)
    for b in bufs:
        if b.key in offsets and (offsets[b.key] < region) != b.persistent:
            errs.append(f"{b.key} at {offsets[b.key]} is {'outside' if b.persistent else 'inside'} the "
                        f"state region [0, {region})")
    for b in bufs:
        if b.key not in offsets:
            errs.append(f"{b.key} has no offset")
        elif offsets[b.key] < 0 or offsets[b.key] % ALIGN or b.size % ALIGN:
            errs.append(f"{b.key} at {offsets[b.key]} ({b.size} B) is not {ALIGN}-byte aligned")
    if errs:
        return errs
    for i, a in enumerate(bufs):
        oa = offsets[a.key]
        for b in bufs[i + 1:]:
            ob = offsets[b.key]
            if a.overlaps_in_time(b) and oa < ob + b.size and ob < oa + a.size:
                if _inplace_ok(a, b, oa, ob):
                    continue
                if (a.overlap and a.overlap[0] == b.key and rows_ok(a, b, oa, ob)) or (
                        b.overlap and b.overlap[0] == a.key and rows_ok(b, a, ob, oa)):
                    continue
                errs.append(f"{a.key} [{oa},{oa + a.size}) steps {a.first}-{a.last} overlaps "
                            f"{b.key} [{ob},{ob + b.size}) steps {b.first}-{b.last}")
    return errs


def overlapping(bufs: list[Buffer], offs: dict) -> int:
    """Row-overlap pairs whose bytes the plan actually overlaps."""
    by_key = {b.key: b for b in bufs}
    n = 0
    for b in bufs:
        if b.overlap and b.overlap[0] in by_key:
            i, o = offs[b.overlap[0]], offs[b.key]
            n += o < i + by_key[b.overlap[0]].size and i < o + b.size
    return n
