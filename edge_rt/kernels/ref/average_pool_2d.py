# AVERAGE_POOL_2D, pure Python: the readable specification.
# For each output (b, oy, ox, c): the window's taps are clipped to the input, the valid
# values are summed and divided by their count rounding half away from zero
# (C truncating division of acc +- count/2), then clamped to the fused activation. The same
# for int8 and int16 values.


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    sh, sw, fh, fw, pt, pl, lo, hi = op.params
    nb, h, w, c = m.tensors[op.inputs[0]].shape
    _, oh, ow, _ = m.tensors[op.outputs[0]].shape

    # state as default arguments (MicroPython: no per-call closure copy); no min/max calls
    def run(x=x, y=y, nb=nb, h=h, w=w, c=c, oh=oh, ow=ow, sh=sh, sw=sw, fh=fh, fw=fw, pt=pt, pl=pl,
            lo=lo, hi=hi):
        for b in range(nb):
            for oy in range(oh):
                iy0 = oy * sh - pt
                ky0 = -iy0 if iy0 < 0 else 0
                ky1 = h - iy0 if h - iy0 < fh else fh
                for ox in range(ow):
                    ix0 = ox * sw - pl
                    kx0 = -ix0 if ix0 < 0 else 0
                    kx1 = w - ix0 if w - ix0 < fw else fw
                    count = (ky1 - ky0) * (kx1 - kx0)
                    half = count // 2
                    yo = ((b * oh + oy) * ow + ox) * c
                    for ch in range(c):
                        acc = 0
                        for ky in range(ky0, ky1):
                            row = (b * h + iy0 + ky) * w
                            for kx in range(kx0, kx1):
                                acc += x[(row + ix0 + kx) * c + ch]
                        if acc > 0:
                            q = (acc + half) // count
                        else:
                            q = -((half - acc) // count)  # C division truncates toward zero
                        y[yo + ch] = lo if q < lo else (hi if q > hi else q)
    return run
