# LOG_SOFTMAX (int8, last axis), numpy: the steps of kernels/ref/log_softmax.py over all rows
# at once, in int64 scratch: d = max - x per row, the two tables gathered by d, the row sums
# of the exps; then per row (Python ints) the fixed-point log and the cutoff; then
# y = clamp(rdbpot(wrap32(q5[d] - L), 22) + 127) masked to -128 where -d <= cutoff.
# q5[d] - L <= 0 (q5 <= 0 <= L), where rdbpot(v, 22) is (v + 2**21 - 1) >> 22 (v = 0 gives 0
# either way). Every array op writes into scratch through out=.
import numpy as np

from ..fixedpoint import log_ge_1
from ..quant import INT32_MIN, mbqm, wrap32
from ._conv_common import r16


def scratch_bytes(size, depth):
    rows = size // depth if depth else 0
    return 3 * r16(size * 8) + r16(size) + 3 * r16(rows * 8)


def bind(op, m, v, arena):
    shape = m.tensors[op.inputs[0]].shape
    depth = shape[-1]
    size = m.tensors[op.inputs[0]].size()
    rows = size // depth if depth else 0
    x = v[op.inputs[0]].reshape(rows, depth)
    y = v[op.outputs[0]].reshape(rows, depth)
    q5 = v[op.inputs[1]].astype(np.int64)
    e12 = v[op.inputs[2]].astype(np.int64)
    diff_min, rm, rs = op.params[:3]
    o = op.scratch_offset

    def buf(dtype, n, shp):
        nonlocal o
        a = np.frombuffer(arena, dtype, n, o).reshape(shp)
        o += r16(n * np.dtype(dtype).itemsize)
        return a
    d = buf(np.int64, size, (rows, depth))
    a = buf(np.int64, size, (rows, depth))
    b = buf(np.int64, size, (rows, depth))
    mask = buf(np.bool_, size, (rows, depth))
    mx = buf(np.int64, rows, (rows, 1))
    lg = buf(np.int64, rows, (rows, 1))
    cut = buf(np.int64, rows, (rows, 1))
    c = {k: np.array(val, np.int64) for k, val in (("round", (1 << 21) - 1), ("min", INT32_MIN),
                                                   ("m32", 0xFFFFFFFF), ("out", 127), ("lo", -128),
                                                   ("hi", 127), ("sh", 22))}
    setitem = np.ndarray.__setitem__
    dmin1 = diff_min - 1

    def run():
        setitem(a, Ellipsis, x)
        np.maximum.reduce(a, 1, None, mx, True)
        np.subtract(mx, a, d)                       # d = max - x in [0, 255]
        e12.take(d, None, b, "clip")
        np.add.reduce(b, 1, None, lg, True)         # row sums (exact in int64)
        for r in range(rows):                       # the log and cutoff per row, as ref
            s = int(lg[r, 0])
            lr = log_ge_1(wrap32(s), 12, 5)
            k = mbqm(lr + INT32_MIN, rm, rs)
            lg[r, 0] = lr
            cut[r, 0] = k if k > dmin1 else dmin1
        q5.take(d, None, a, "clip")
        np.subtract(a, lg, a)
        np.subtract(a, c["min"], a)                 # wrap to int32 as the C subtraction
        np.bitwise_and(a, c["m32"], a)
        np.add(a, c["min"], a)
        np.add(a, c["round"], a)
        np.right_shift(a, c["sh"], a)
        np.add(a, c["out"], a)
        np.fmax(a, c["lo"], a)
        np.fmin(a, c["hi"], a)
        np.negative(d, d)
        np.less_equal(d, cut, mask)                 # -d <= cutoff: the smallest output
        np.copyto(a, c["lo"], "same_kind", mask)
        setitem(y, Ellipsis, a)
    return run
