"""Identical constant tensors  =>  one tensor (readers rewired)."""
from __future__ import annotations

from ..ir import Graph


def dedupe_constants(g: Graph):
    """CONST a == CONST b (dtype, shape, bytes, quantization)  =>  one tensor, readers rewired

    Prepared constants made later (multipliers, folded biases) are deduplicated by the writer,
    which stores identical bytes once."""
    first: dict = {}
    remap: dict[int, int] = {}
    saved = 0
    used = {t for op in g.ops for t in op.inputs if t >= 0}
    for tid in sorted(used):
        t = g.tensors[tid]
        if not t.is_const:
            continue
        q = (tuple(t.scale.tolist()) if t.scale is not None else None,
             tuple(t.zero_point.tolist()) if t.zero_point is not None else None, t.quant_dim)
        key = (t.dtype, tuple(t.shape), t.data.tobytes(), q)
        if key in first:
            remap[tid] = first[key]
            saved += t.nbytes
        else:
            first[key] = tid
    if not remap:
        return g, ""
    for op in g.ops:
        op.inputs = [remap.get(t, t) for t in op.inputs]
    return g, f"merged {len(remap)} duplicate constant(s), {saved:,} B"
