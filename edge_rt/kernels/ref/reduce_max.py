# REDUCE_MAX, pure Python: the readable specification.
# For each output element (the kept axes walked in order; the output is contiguous in that
# order) start from the lowest value and keep any reduced element greater than it, as
# TFLite's reducer `in > current ? in : current` (so a NaN never wins). The two plans are
# odometers over the input (compiler/prepare/reduce_max.py). int8 reads are small ints; a
# float32 model reads floats (boxed on MicroPython, where float models are not the target).
from ... import format as F
from . import _strided


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    odims, oss, _, k = _strided.read(op.params, 0)
    rdims, rss, _, _ = _strided.read(op.params, k)
    lowest = -128 if m.tensors[op.inputs[0]].dtype == F.DT_INT8 else -3.4028234663852886e38  # float32 lowest
    oidx = [0] * len(odims)
    ridx = [0] * len(rdims)

    def run(x=x, y=y, odims=odims, oss=oss, rdims=rdims, rss=rss, oidx=oidx, ridx=ridx, lowest=lowest):
        no = len(odims)
        nr = len(rdims)
        for d in range(no):
            oidx[d] = 0
        base = 0
        yo = 0
        while True:
            acc = lowest
            for d in range(nr):
                ridx[d] = 0
            xo = base
            while True:
                e = x[xo]
                if e > acc:
                    acc = e
                d = nr - 1
                while d >= 0:
                    ridx[d] += 1
                    xo += rss[d]
                    if ridx[d] < rdims[d]:
                        break
                    xo -= rss[d] * rdims[d]
                    ridx[d] = 0
                    d -= 1
                if d < 0:
                    break
            y[yo] = acc
            yo += 1
            d = no - 1
            while d >= 0:
                oidx[d] += 1
                base += oss[d]
                if oidx[d] < odims[d]:
                    break
                base -= oss[d] * odims[d]
                oidx[d] = 0
                d -= 1
            if d < 0:
                return
    return run
