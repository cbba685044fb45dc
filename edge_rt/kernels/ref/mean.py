# MEAN (int8), pure Python: the readable specification (see compiler/prepare/mean.py).
# The input is viewed with merged dims, each either kept or reduced. For each output
# (row-major over the kept dims) the raw values over all reduced positions are summed, then
# out = clamp(mbqm(sum - in_zp * num, mult', shift') + out_zp, -128, 127).
from ..quant import mbqm


def bind(op, m, v, arena):
    mult, shift, out_zp, offset, nd = op.params[:5]
    dims = op.params[5:5 + nd]
    flags = op.params[5 + nd:5 + 2 * nd]
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    strides = [1] * nd
    for d in range(nd - 2, -1, -1):
        strides[d] = strides[d + 1] * dims[d + 1]
    # innermost first, so index decomposition peels the fastest-varying dim off first
    kept = [(dims[d], strides[d]) for d in range(nd - 1, -1, -1) if not flags[d]]
    red = [(dims[d], strides[d]) for d in range(nd - 1, -1, -1) if flags[d]]
    n_out = len(y)
    num = 1
    for size, _ in red:
        num *= size

    def run():
        for o in range(n_out):
            base = 0
            q = o
            for size, stride in kept:
                base += (q % size) * stride
                q //= size
            acc = offset
            for r in range(num):
                off = base
                q = r
                for size, stride in red:
                    off += (q % size) * stride
                    q //= size
                acc += x[off]
            r = mbqm(acc, mult, shift) + out_zp
            y[o] = -128 if r < -128 else (127 if r > 127 else r)
    return run
