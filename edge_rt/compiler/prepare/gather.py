"""GATHER (int8, float32 as TFLite Micro; int32 indices, constant or computed):
y[b.., o.., i.., k..] = x[b.., o.., indices[b.., i..], k..] over `axis`, the first
`batch_dims` axes shared by input and indices. Values move unchanged. Kernel inputs:
[input, indices]; params: [batch, outer, axis_size, count, inner] (products of the input's
dims before batch_dims, from there to axis, at axis, of the indices' dims after batch_dims,
and of the input's dims after axis). An index outside [0, axis_size) fails the invoke (as
in TFLite Micro); constant indices are checked here."""
import numpy as np

from ..ir import Graph, Op
from .common import need, need_dtype

DTYPES = ("int8", "float32")  # TFLite Micro: no int16, int32


def _prod(dims) -> int:
    return int(np.prod([int(d) for d in dims], dtype=np.int64))


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 2 and len(op.outputs) == 1, "expected 2 inputs (input, indices) and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    ind = need_dtype(g, op.inputs[1], "indices", "int32")
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    rank, irank = len(x.shape), len(ind.shape)
    bd = op.options.get("batch_dims", 0)
    bd = bd + irank if bd < 0 else bd
    axis = op.options.get("axis", 0)
    axis = axis + rank if axis < 0 else axis
    need(0 <= axis < rank, f"axis {op.options.get('axis')} out of range for a {rank}-D input")
    need(0 <= bd <= irank and bd <= axis, f"batch_dims {op.options.get('batch_dims')} not supported "
         f"with axis {axis} and {irank}-D indices (needs 0 <= batch_dims <= axis, rank of indices)")
    need(tuple(x.shape[:bd]) == tuple(ind.shape[:bd]),
         f"input and indices differ on the batch dims: {tuple(x.shape[:bd])} vs {tuple(ind.shape[:bd])}")
    want = tuple(x.shape[:axis]) + tuple(ind.shape[bd:]) + tuple(x.shape[axis + 1:])
    need(tuple(y.shape) == want, f"output shape {tuple(y.shape)} != gathered shape {want}")
    if ind.is_const and ind.size:
        bad = ind.data[(ind.data < 0) | (ind.data >= x.shape[axis])]
        need(bad.size == 0, f"index {int(bad.reshape(-1)[0]) if bad.size else 0} out of range "
             f"[0, {x.shape[axis]}) for axis {axis}")
    count = _prod(ind.shape[bd:])
    op.kernel_inputs = [op.inputs[0], op.inputs[1]]
    op.params = [_prod(x.shape[:bd]), _prod(x.shape[bd:axis]), int(x.shape[axis]), count,
                 _prod(x.shape[axis + 1:])]
    if ks == "np":  # the indices widened to intp (8 bytes) for ndarray.take
        op.scratch_bytes = 8 * max(1, ind.size)
