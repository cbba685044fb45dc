# Binary element-wise ops (ADD, SUB, MUL) as one 2-D table lookup: for int8 inputs the output
# depends only on the pair (a, b), so the whole op is tabulated at bind time (65,536 int8
# entries, a constant kept outside the arena) with the reference's integer steps. A run
# builds int64 indices a_u8 * 256 + b_u8 in arena scratch by writing the inputs' bytes into
# bytes 1 and 0 of zeroed int64 words (little-endian), then gathers: three copies and one
# take per band, no arithmetic and no allocation. Broadcasting follows the plan from
# kernels/broadcast.py: a zero stride becomes a size-1 axis that copyto repeats.
import numpy as np

from ..broadcast import unpack_params
from .requant import setitem

BAND = 16384 # output elements per band: the index scratch is BAND * 8 bytes


def int8_values():
    """The int8 value of each uint8 bit pattern 0..255 (0..127, then -128..-1), as int64."""
    x = np.arange(256, dtype=np.int64)
    x[128:] -= 256
    return x


def int8_table(fn):
    """fn evaluated on every int8 value, indexed by the value's uint8 bit pattern."""
    return fn(int8_values())


def pair_table(fn):
    """int8 table t with t[a_u8 * 256 + b_u8] == fn(a, b) (fn on int64 arrays -> int values)."""
    v = int8_values()
    return np.ascontiguousarray(fn(v[:, None], v[None, :]).astype(np.int8).reshape(-1))


def band_rows(dims, band=BAND):
    """(rows of the outermost axis per band of at most `band` elements (at least 1), elements per
    row)."""
    inner = 1
    for d in dims[1:]:
        inner *= d
    return max(1, min(dims[0], band // max(inner, 1))), inner


def scratch_bytes(params, start):
    """np scratch of a binary op whose broadcast plan is params[start:]."""
    dims, _, _ = unpack_params(params, start)
    rows, inner = band_rows(dims)
    return rows * inner * 8


def operand_views(a, b, y, params, start):
    """(a, b, y) as arrays over the plan's dims; a and b broadcast (stride-0 views)."""
    dims, sa, sb = unpack_params(params, start)
    shape_a = tuple(d if s else 1 for d, s in zip(dims, sa))
    shape_b = tuple(d if s else 1 for d, s in zip(dims, sb))
    dims = tuple(dims)
    return (np.broadcast_to(a.reshape(shape_a), dims), np.broadcast_to(b.reshape(shape_b), dims),
            y.reshape(dims))


def bind_pair_table(op, v, arena, start, table):
    """Closure applying a pair table to the op's two inputs (broadcast plan at params[start:])."""
    a, b, y = operand_views(v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], op.params, start)
    dims = y.shape
    rows, inner = band_rows(dims)
    idx = np.frombuffer(arena, np.int64, rows * inner, op.scratch_offset)
    steps = []
    for r0 in range(0, dims[0], rows):
        r1 = min(dims[0], r0 + rows)
        n = (r1 - r0) * inner
        ib = idx[:n]
        by = ib.view(np.uint8).reshape((r1 - r0,) + dims[1:] + (8,))
        steps.append((ib, by[..., 1], a[r0:r1].view(np.uint8), by[..., 0], b[r0:r1].view(np.uint8),
                      y[r0:r1].reshape(n)))
    fill, take = np.ndarray.fill, table.take

    def run():
        for ib, hi, ua, lo, ub, out in steps:
            fill(ib, 0)
            setitem(hi, Ellipsis, ua)
            setitem(lo, Ellipsis, ub)
            take(ib, out=out, mode="clip")
    return run
