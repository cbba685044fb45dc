"""The state region (planner.py step 7): the variables of streaming models (Tensor.is_state, and
every tensor aliasing one) keep their bytes from one invoke to the next, so they get their own
region at the start of the arena, [0, state_bytes), one variable after another in tensor order,
and the plan of everything else moves up above it. The verifier sees the state as buffers live
at every step (docs/memory.md)."""
from __future__ import annotations

from .ir import Graph
from .plan_buffers import Buffer, _round
from .plan_verify import verify


def state_buffers(g: Graph) -> list[Buffer]:
    """The state tensors as buffers live at every step, in tensor order (their region's layout)."""
    last_step = max(len(g.ops) - 1, 0)
    return [Buffer(("t", tid), _round(g.tensors[tid].nbytes), 0, last_step, persistent=True) for tid in g.state]


def place_state(g: Graph, offs: dict, bufs: list[Buffer]) -> tuple[dict, list[Buffer], int]:
    """(offsets, buffers, state bytes) of plan `offs` over `bufs` with the state region below it,
    verified as a whole."""
    state = state_buffers(g)
    state_bytes = sum(b.size for b in state)
    if not state:
        return offs, bufs, 0
    offs = {k: o + state_bytes for k, o in offs.items()}
    at = 0
    for b in state:
        offs[b.key] = at
        at += b.size
    bufs = state + bufs
    problems = verify(bufs, offs)
    if problems:
        raise RuntimeError(f"state region plan invalid: {problems[0]}")
    return offs, bufs, state_bytes
