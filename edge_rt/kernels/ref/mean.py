# MEAN (int8), pure Python: the readable specification (see compiler/prepare/mean.py).
# The input is viewed with merged dims, each either kept or reduced. For each output
# (row-major over the kept dims) the raw values over all reduced positions are summed, then
# out = clamp(mbqm(sum - in_zp * num, mult', shift') + out_zp, -128, 127).
# MicroPython: state as default arguments, the multiplier as uint16 halves (the sum is far
# inside the small-int bound of quant.mbqm_halves), dims as flat lists: allocation-free.
from ..quant import mbqm_halves


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
    kept_size = [dims[d] for d in range(nd - 1, -1, -1) if not flags[d]]
    kept_stride = [strides[d] for d in range(nd - 1, -1, -1) if not flags[d]]
    red_size = [dims[d] for d in range(nd - 1, -1, -1) if flags[d]]
    red_stride = [strides[d] for d in range(nd - 1, -1, -1) if flags[d]]
    num = 1
    for size in red_size:
        num *= size

    def run(x=x, y=y, n_out=m.tensors[op.outputs[0]].size(), kept_size=kept_size, kept_stride=kept_stride,
            nk=len(kept_size), red_size=red_size, red_stride=red_stride, nr=len(red_size), num=num,
            offset=offset, ml=mult & 0xFFFF, mh=mult >> 16, shift=shift, out_zp=out_zp):
        for o in range(n_out):
            base = 0
            q = o
            for k in range(nk):
                base += (q % kept_size[k]) * kept_stride[k]
                q //= kept_size[k]
            acc = offset
            for r in range(num):
                off = base
                q = r
                for k in range(nr):
                    off += (q % red_size[k]) * red_stride[k]
                    q //= red_size[k]
                acc += x[off]
            r = mbqm_halves(acc, ml, mh, shift) + out_zp
            y[o] = -128 if r < -128 else (127 if r > 127 else r)
    return run
