"""STRIDED_SLICE (int8, int16, int32, float32: a copy, as TFLite Micro). begin/end/strides are
constant int32 vectors (TFLite Micro requires it), so the whole index logic runs here, with
TFLite Micro's Eval rules per axis (strided_slice_logic.h):
  start: negative += size; clamp to [0, size] (stride > 0) or [-1, size - 1] (stride < 0);
         begin_mask: 0 or size - 1;
  stop:  shrink_axis: start + 1 (start when start >= size); else negative += size, the same
         clamps, end_mask: size or -1;
  count: how many of start, start + stride, ... lie before stop.
TFLite Micro ignores ellipsis_mask, new_axis_mask and offset; models using them are refused.
Kernel inputs: [input]; params: the input dims left-padded with 1 to 5, then for each of the 5
axes (start, stride, count) (padded axes: 0, 1, 1). The output is the row-major walk over them."""
from __future__ import annotations

from ..ir import Graph, Op
from .common import need, need_const, need_dtype

DTYPES = ("int8", "int16", "int32", "float32")
RANK = 5


def _count(start: int, stop: int, stride: int) -> int:
    n = (stop - start + stride - 1) // stride if stride > 0 else (start - stop - stride - 1) // -stride
    return max(0, n)


def axis_walks(shape, begin, end, strides, begin_mask, end_mask, shrink_mask):
    """[(start, stride, count)] per axis of `shape`, by TFLite Micro's Eval rules."""
    out = []
    for a, size in enumerate(shape):
        s, e, st = int(begin[a]), int(end[a]), int(strides[a])
        lo, hi = (0, size) if st > 0 else (-1, size - 1)
        s = s + size if s < 0 else s
        s = min(max(s, lo), hi)
        if begin_mask >> a & 1:
            s = 0 if st > 0 else size - 1
        if shrink_mask >> a & 1:
            e = s if s >= size else s + 1
        else:
            e = e + size if e < 0 else e
            e = min(max(e, lo), hi)
            if end_mask >> a & 1:
                e = size if st > 0 else -1
        out.append((s, st, _count(s, e, st)))
    return out


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 4 and len(op.outputs) == 1,
         f"expected 4 inputs (input, begin, end, strides) and 1 output, got {len(op.inputs)} and {len(op.outputs)}")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    o = op.options
    for k in ("ellipsis_mask", "new_axis_mask"):
        need(not o.get(k), f"{k} {o.get(k)} not supported (TFLite Micro ignores it); supported: 0")
    need(not o.get("offset"), "offset=true not supported (TFLite Micro ignores it)")
    rank = len(x.shape)
    need(1 <= rank <= RANK, f"input rank {rank}; supported: 1 to {RANK}")
    vecs = []
    for k, role in ((1, "begin"), (2, "end"), (3, "strides")):
        need_dtype(g, op.inputs[k], role, "int32")
        v = need_const(g, op.inputs[k], role).reshape(-1)
        need(v.size == rank, f"{role} has {v.size} values for a {rank}-D input")
        vecs.append(v)
    need(all(int(s) != 0 for s in vecs[2]), f"strides {list(map(int, vecs[2]))}: a stride of 0 is not allowed")
    shrink = int(o.get("shrink_axis_mask", 0))
    walks = axis_walks(x.shape, *vecs, int(o.get("begin_mask", 0)), int(o.get("end_mask", 0)), shrink)
    for a, (s, _, n) in enumerate(walks):
        # TFLite Micro sizes a shrunk axis 1 in Prepare, but its Eval loop writes nothing for it
        # when begin lies outside the axis or the stride is negative (it walks from begin
        # towards begin + 1): refused rather than copy what the reference leaves unwritten
        need(not (shrink >> a & 1) or n == 1, f"shrink_axis on axis {a} with begin {int(vecs[0][a])} and stride "
                                              f"{int(vecs[2][a])} ({x.shape[a]} elements): TFLite Micro writes "
                                              "no element; supported: begin inside the axis, stride > 0")
    shape = tuple(n for a, (_, _, n) in enumerate(walks) if not shrink >> a & 1)
    need(shape == tuple(y.shape) or (not shape and y.size == 1),
         f"slice has shape {list(shape)}, output tensor has {list(y.shape)}")
    pad = RANK - rank
    op.kernel_inputs = [op.inputs[0]]
    op.params = [1] * pad + [int(d) for d in x.shape]
    for s, st, n in [(0, 1, 1)] * pad + walks:
        op.params += [s, st, n]
    op.scratch_bytes = 0
