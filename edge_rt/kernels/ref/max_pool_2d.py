# MAX_POOL_2D, pure Python: the readable specification.
# For each output (b, oy, ox, c): the maximum over the window's taps that lie inside the
# input, starting from the dtype's minimum (-128; -32768 for int16), then clamped to the fused
# activation.
from ... import format as F


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    sh, sw, fh, fw, pt, pl, lo, hi = op.params
    nb, h, w, c = m.tensors[op.inputs[0]].shape
    _, oh, ow, _ = m.tensors[op.outputs[0]].shape

    # state as default arguments (MicroPython: no per-call closure copy); no min/max calls
    start = -32768 if m.tensors[op.inputs[0]].dtype == F.DT_INT16 else -128

    def run(x=x, y=y, nb=nb, h=h, w=w, c=c, oh=oh, ow=ow, sh=sh, sw=sw, fh=fh, fw=fw, pt=pt, pl=pl,
            lo=lo, hi=hi, start=start):
        for b in range(nb):
            for oy in range(oh):
                iy0 = oy * sh - pt
                ky0 = -iy0 if iy0 < 0 else 0
                ky1 = h - iy0 if h - iy0 < fh else fh
                for ox in range(ow):
                    ix0 = ox * sw - pl
                    kx0 = -ix0 if ix0 < 0 else 0
                    kx1 = w - ix0 if w - ix0 < fw else fw
                    yo = ((b * oh + oy) * ow + ox) * c
                    for ch in range(c):
                        mx = start
                        for ky in range(ky0, ky1):
                            row = (b * h + iy0 + ky) * w
                            for kx in range(kx0, kx1):
                                val = x[(row + ix0 + kx) * c + ch]
                                if val > mx:
                                    mx = val
                        y[yo + ch] = lo if mx < lo else (hi if mx > hi else mx)
    return run
