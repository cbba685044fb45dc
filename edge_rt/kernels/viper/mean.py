# MEAN (int8), viper: kernels/ref/mean.py's arithmetic (see compiler/prepare/mean.py): per output
# the raw values over all reduced positions are summed in native code (the same index
# decomposition over kept and reduced dims), then requantized (_core.requant) in chunks of
# CHUNK outputs through a bind-time accumulator row.
import micropython
from array import array

from ._core import requant

CHUNK = 256


@micropython.viper
def mean_sums(x, dims, nk: int, nr: int, num: int, offset: int, o0: int, n: int, acc):
    """acc[i] = offset + sum of x over the reduced positions of output o0 + i; dims holds
    kept sizes, kept strides, reduced sizes, reduced strides (nk, nk, nr, nr values, >= 0)."""
    xp = ptr8(x)
    dp = ptr32(dims)
    ap = ptr32(acc)
    for i in range(n):
        base = 0
        q = o0 + i
        for k in range(nk):
            size = int(dp[k])
            base += (q % size) * int(dp[nk + k])
            q = q // size
        a = offset
        for r in range(num):
            off = base
            q = r
            for k in range(nr):
                size = int(dp[2 * nk + k])
                off += (q % size) * int(dp[2 * nk + nr + k])
                q = q // size
            a += (int(xp[off]) ^ 0x80) - 0x80
        ap[i] = a


def bind(op, m, v, arena):
    mult, shift, out_zp, offset, nd = op.params[:5]
    dims = op.params[5:5 + nd]
    flags = op.params[5 + nd:5 + 2 * nd]
    strides = [1] * nd
    for d in range(nd - 2, -1, -1):
        strides[d] = strides[d + 1] * dims[d + 1]
    # innermost first, as the ref kernel
    kept = [d for d in range(nd - 1, -1, -1) if not flags[d]]
    red = [d for d in range(nd - 1, -1, -1) if flags[d]]
    table = array("i", [dims[d] for d in kept] + [strides[d] for d in kept] + [dims[d] for d in red] +
                  [strides[d] for d in red] + [0])
    num = 1
    for d in red:
        num *= dims[d]

    def run(x=v[op.inputs[0]], y=v[op.outputs[0]], n_out=m.tensors[op.outputs[0]].size(), table=table,
            nk=len(kept), nr=len(red), num=num, offset=offset, mult=array("i", [mult]), shift=array("i", [shift]),
            out_zp=out_zp, acc=bytearray(4 * CHUNK), chunk=CHUNK):
        o = 0
        while o < n_out:
            n = n_out - o
            if n > chunk:
                n = chunk
            mean_sums(x, table, nk, nr, num, offset, o, n, acc)
            requant(acc, n, mult, shift, 1, y, o, out_zp, -128, 127)
            o += n
    return run
