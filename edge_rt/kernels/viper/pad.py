# PAD, viper: kernels/ref/pad.py's algorithm with the byte loops in native code: the output is
# filled with the pad value's bytes, then each innermost input row is copied to its place
# (bind precomputes every row's output offset, so run() only calls the copy).
import micropython
from array import array

from ._conv import copy8


@micropython.viper
def fill(y, n: int, value, size: int):
    """y[i * size + j] = value[j] for i < n, j < size (bytes)."""
    yp = ptr8(y)
    vp = ptr8(value)
    k = 0
    for i in range(n):
        for j in range(size):
            yp[k] = vp[j]
            k += 1


@micropython.viper
def copy_rows(x, y, offs, rows: int, row: int):
    """Input row r (row bytes, contiguous) to y at byte offset offs[r] (offsets >= 0)."""
    op = ptr32(offs)
    for r in range(rows):
        copy8(x, r * row, y, int(op[r]), row)


def bind(op, m, v, arena):
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    size = ty.nbytes // ty.size() if ty.size() else 1  # bytes per element
    value = bytearray(size)
    pv = v[op.inputs[1]]
    if size == 1:
        value[0] = pv[0] & 0xFF
    else:
        from ...compat import retype
        pb = retype(pv, size, "B")
        for j in range(size):
            value[j] = pb[j]
    rank = op.params[0]
    before = op.params[1:1 + rank]
    xs, ys = tx.shape, ty.shape
    row = xs[-1] if rank else 1
    rows = tx.size() // row if row else 0
    offs = array("i", bytes(4 * rows)) if rows else array("i", [0])
    idx = [0] * rank
    for r in range(rows):  # the ref kernel's odometer, run once here
        yo = 0
        for d in range(rank - 1):
            yo = (yo + idx[d] + before[d]) * ys[d + 1]
        if rank:
            yo += before[rank - 1]
        offs[r] = yo * size
        d = rank - 2
        while d >= 0:
            idx[d] += 1
            if idx[d] < xs[d]:
                break
            idx[d] = 0
            d -= 1

    def run(x=v[op.inputs[0]], y=v[op.outputs[0]], value=value, size=size, ny=ty.size(), offs=offs, rows=rows,
            row=row * size):
        fill(y, ny, value, size)
        copy_rows(x, y, offs, rows, row)
    return run
