# CONV_2D, pure Python: the readable specification.
# For each output (b, oy, ox, oc): bias + sum over taps (ky, kx, ic) inside the input of
# (x + in_off) * w; the reference skips padded taps. Pack time folded in_off * sum(w) over
# *all* taps into the bias, so the loop adds x * w for a valid tap and in_zp * w
# (= -in_off * w) for a padded one, which cancels that tap's share of the folded term.
from ...compat import retype
from ..quant import mbqm_halves


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]  # np-packed files append np-only constants
    x, w, bias, shift = v[i_x], v[i_w], v[i_b], v[i_s]
    # the int32 multipliers (>= 2**30, big ints on 32-bit MicroPython) read as uint16
    # halves, so requantization stays allocation-free: see quant.mbqm_halves
    mh = retype(v[i_m], m.tensors[i_m].nbytes, "H")
    y = v[op.outputs[0]]
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi = op.params
    nb, h, wd, ic = m.tensors[i_x].shape
    oc, kh, kw, _ = m.tensors[i_w].shape
    _, oh, ow, _ = m.tensors[op.outputs[0]].shape

    # Everything run() reads is bound as a default argument: on MicroPython a closure over
    # more than 5 variables copies them into a heap array on every call, defaults do not.
    def run(x=x, w=w, bias=bias, mh=mh, shift=shift, y=y, nb=nb, h=h, wd=wd, ic=ic, oc=oc, kh=kh,
            kw=kw, oh=oh, ow=ow, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pl=pl, in_zp=in_zp,
            out_off=out_off, lo=lo, hi=hi):
        for b in range(nb):
            for oy in range(oh):
                for ox in range(ow):
                    yo = ((b * oh + oy) * ow + ox) * oc
                    for c in range(oc):
                        acc = bias[c]
                        for ky in range(kh):
                            iy = oy * sh - pt + ky * dh
                            for kx in range(kw):
                                ix = ox * sw - pl + kx * dw
                                wo = ((c * kh + ky) * kw + kx) * ic
                                if 0 <= iy < h and 0 <= ix < wd:
                                    xo = ((b * h + iy) * wd + ix) * ic
                                    for j in range(ic):
                                        acc += x[xo + j] * w[wo + j]
                                else:
                                    for j in range(ic):
                                        acc += in_zp * w[wo + j]
                        r = mbqm_halves(acc, mh[2 * c], mh[2 * c + 1], shift[c]) + out_off
                        y[yo + c] = lo if r < lo else (hi if r > hi else r)
    return run
