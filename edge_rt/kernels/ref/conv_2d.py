# CONV_2D, pure Python: the readable specification.
# For each output (b, oy, ox, oc): bias + sum over taps (ky, kx, ic) inside the input of
# (x + in_off) * w; the reference skips padded taps. Pack time folded in_off * sum(w) over
# *all* taps into the bias, so the loop adds x * w for a valid tap and in_zp * w
# (= -in_off * w) for a padded one, which cancels that tap's share of the folded term.
from ... import format as F
from ..quant import mbqm_halves, requant_int16x8
from ._weighted import conv_geometry, operands8, operands16


def bind(op, m, v, arena):
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:
        return bind16(op, m, v)
    x, w, bias, mh, shift, y = operands8(op, m, v)
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi = op.params
    nb, h, wd, ic, oc, kh, kw, oh, ow = conv_geometry(op, m)

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


def bind16(op, m, v):
    """int16x8: int16 input and output (zero points 0), int8 filter, the bias int64 or int32
    (its dtype picks the accumulator, see quant.requant_int16x8). Padded taps are skipped, as
    in the reference; same loop order as the int8 kernel (row overlap relies on it)."""
    x, w, bias, mult, shift, y, wide = operands16(op, m, v)
    sh, sw, dh, dw, pt, pl, _, _, lo, hi = op.params[:10]
    nb, h, wd, ic, oc, kh, kw, oh, ow = conv_geometry(op, m)

    def run(x=x, w=w, bias=bias, mult=mult, shift=shift, y=y, nb=nb, h=h, wd=wd, ic=ic, oc=oc, kh=kh,
            kw=kw, oh=oh, ow=ow, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pl=pl, lo=lo, hi=hi, wide=wide):
        for b in range(nb):
            for oy in range(oh):
                for ox in range(ow):
                    yo = ((b * oh + oy) * ow + ox) * oc
                    for c in range(oc):
                        acc = bias[c]
                        for ky in range(kh):
                            iy = oy * sh - pt + ky * dh
                            if iy < 0 or iy >= h:
                                continue
                            for kx in range(kw):
                                ix = ox * sw - pl + kx * dw
                                if ix < 0 or ix >= wd:
                                    continue
                                xo = ((b * h + iy) * wd + ix) * ic
                                wo = ((c * kh + ky) * kw + kx) * ic
                                for j in range(ic):
                                    acc += x[xo + j] * w[wo + j]
                        r = requant_int16x8(acc, mult[c], shift[c], wide)
                        y[yo + c] = lo if r < lo else (hi if r > hi else r)
    return run
