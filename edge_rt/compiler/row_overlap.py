"""Row overlap: a row-streaming op may write its output partly over its dying input, at a
row offset (planner.py step 6; the row-level argument is in docs/memory.md, "Row overlap").
What each op's kernel still reads, the offset that keeps it intact, marking the pairs, the
verifier's row-by-row check and the bytes a pair saves at best."""
from __future__ import annotations

from .ir import Graph

# Op type -> lowest input row the pure-Python kernel may still read once it has started
# writing output row r (n = 1). CONV_2D and DEPTHWISE_CONV_2D write output pixels while later
# pixels of the same row still read rows from r*sh - pt on; DS_CONV_2D writes row r after its
# depthwise band is done, so only rows of later output rows ((r+1)*sh - pt on) stay needed.
# params[0] = stride_h and params[4] = pad_top for all three (prepare/conv_2d.py,
# depthwise_conv_2d.py, fused.py). Rows >= h mean "none": nothing left to protect.
def _rows_from(r: int, sh: int, pt: int) -> int:
    return max(r * sh - pt, 0)


ROWWISE = {
    "CONV_2D": lambda r, oh, p: _rows_from(r, p[0], p[4]),
    "DEPTHWISE_CONV_2D": lambda r, oh, p: _rows_from(r, p[0], p[4]),
    "DS_CONV_2D": lambda r, oh, p: _rows_from(r + 1, p[0], p[4]) if r + 1 < oh else 1 << 30,
}
# Kernel sets whose kernels of these ops follow that row order, and which ops. The C set: only
# DS_CONV_2D, which writes output row r from its depthwise band (scratch) once every input row
# it needs is read; its convolutions gather multi-row pixel groups and read them again per
# channel block, so a later row's output could land on an input row still to be read.
ROWWISE_OPS = {"ref": tuple(ROWWISE), "c": ("DS_CONV_2D",)}
ROWWISE_SETS = tuple(ROWWISE_OPS)


def row_overlap(g: Graph, op, ks: str | None = None, align: int = 16) -> tuple | None:
    """(d, output row bytes, input row bytes, input rows, needs) for an op of ROWWISE run by a
    row-order kernel set: the output may start d bytes below its input (or anywhere lower)."""
    ks = ks or op.kernel_set
    if op.type not in ROWWISE_OPS.get(ks, ()) or len(op.params) < 5 or not op.outputs:
        return None
    tx, ty = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    if len(tx.shape) != 4 or len(ty.shape) != 4 or tx.shape[0] != 1 or ty.shape[0] != 1:
        return None
    h, oh = tx.shape[1], ty.shape[1]
    ri, ro = tx.nbytes // max(h, 1), ty.nbytes // max(oh, 1)
    needs = tuple(min(ROWWISE[op.type](r, oh, op.params), h) for r in range(oh))
    d = max([(r + 1) * ro - n * ri for r, n in enumerate(needs) if n < h] or [-tx.nbytes])
    d = -(-d // align) * align if d > 0 else -((-d) // align * align)  # keep offsets aligned
    return d, ro, ri, h, needs


def mark_overlap(g: Graph, by_key: dict, roots: dict, io_roots: set, taken: set) -> None:
    """Declare each ROWWISE op's output a row-overlap partner of its input where that input
    dies at the op, is an activation (not a graph input or output) and is not in place already."""
    for i, op in enumerate(g.ops):
        spec = row_overlap(g, op)
        if spec is None:
            continue
        ob = by_key.get(("t", roots[op.outputs[0]]))
        tid = op.inputs[0]
        if ob is None or ob.shares is not None or tid < 0 or g.tensors[tid].is_const:
            continue
        r = roots[tid]
        ib = by_key.get(("t", r))
        if ib is None or ib is ob or r in io_roots or r in taken or not (ib.last == i == ob.first):
            continue
        if spec[0] >= ob.size:
            continue  # the output must lie wholly below the input: nothing to gain
        ob.overlap = (ib.key,) + spec
        taken.add(r)


def rows_ok(out, inp, oo: int, oi: int) -> bool:
    """A row-overlap pair may share bytes: live together only at the op's step, and no output
    row r lands on an input row the op may still read once it writes row r (rows needs[r]..h-1;
    a tensor's rounding pad is never written nor read)."""
    _, _, ro, ri, h, needs = out.overlap
    if not (inp.last == out.first and out.overlap[0] == inp.key):
        return False
    for r, n in enumerate(needs):
        if n < h and oo + r * ro < oi + h * ri and oi + n * ri < oo + (r + 1) * ro:
            return False
    return True


def overlap_savings(bufs: list) -> list[tuple[int, int]]:
    """(step, bytes) a row-overlap pair saves at its hand-over step at best: in + out minus
    the smallest joint span, the output d bytes below the input (or level with it, d <= 0)."""
    by_key = {b.key: b for b in bufs}
    out = []
    for b in bufs:
        if b.overlap is not None and b.overlap[0] in by_key:
            ib = by_key[b.overlap[0]]
            joint = max(max(b.overlap[1], 0) + ib.size, b.size)
            out.append((b.first, ib.size + b.size - joint))
    return out
