# DEPTHWISE_CONV_2D, pure Python: output channel c = ic * depth_multiplier + q reads input
# channel ic. Padded taps are treated as in conv_2d.py (they cancel the folded bias term).
from ... import format as F
from ..quant import mbqm_halves, requant_int16x8
from ._weighted import conv_geometry, operands8, operands16


def bind(op, m, v, arena):
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:
        return bind16(op, m, v)
    x, w, bias, mh, shift, y = operands8(op, m, v)
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi, dm = op.params
    nb, h, wd, ic, oc, kh, kw, oh, ow = conv_geometry(op, m, True)

    # Everything run() reads is bound as a default argument: on MicroPython a closure over
    # more than 5 variables copies them into a heap array on every call, defaults do not.
    def run(x=x, w=w, bias=bias, mh=mh, shift=shift, y=y, nb=nb, h=h, wd=wd, ic=ic, oc=oc, kh=kh,
            kw=kw, oh=oh, ow=ow, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pl=pl, in_zp=in_zp,
            out_off=out_off, lo=lo, hi=hi, dm=dm):
        for b in range(nb):
            for oy in range(oh):
                for ox in range(ow):
                    yo = ((b * oh + oy) * ow + ox) * oc
                    for c in range(oc):
                        src = c // dm
                        acc = bias[c]
                        for ky in range(kh):
                            iy = oy * sh - pt + ky * dh
                            for kx in range(kw):
                                ix = ox * sw - pl + kx * dw
                                wv = w[(ky * kw + kx) * oc + c]
                                if 0 <= iy < h and 0 <= ix < wd:
                                    acc += x[((b * h + iy) * wd + ix) * ic + src] * wv
                                else:
                                    acc += in_zp * wv
                        r = mbqm_halves(acc, mh[2 * c], mh[2 * c + 1], shift[c]) + out_off
                        y[yo + c] = lo if r < lo else (hi if r > hi else r)
    return run


def bind16(op, m, v):
    """int16x8 (TFLite Micro: int64 bias only): padded taps skipped, quant.requant_int16x8."""
    x, w, bias, mult, shift, y, wide = operands16(op, m, v)
    sh, sw, dh, dw, pt, pl, _, _, lo, hi, dm = op.params[:11]
    nb, h, wd, ic, oc, kh, kw, oh, ow = conv_geometry(op, m, True)

    def run(x=x, w=w, bias=bias, mult=mult, shift=shift, y=y, nb=nb, h=h, wd=wd, ic=ic, oc=oc, kh=kh,
            kw=kw, oh=oh, ow=ow, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pl=pl, lo=lo, hi=hi, dm=dm, wide=wide):
        for b in range(nb):
            for oy in range(oh):
                for ox in range(ow):
                    yo = ((b * oh + oy) * ow + ox) * oc
                    for c in range(oc):
                        src = c // dm
                        acc = bias[c]
                        for ky in range(kh):
                            iy = oy * sh - pt + ky * dh
                            if iy < 0 or iy >= h:
                                continue
                            for kx in range(kw):
                                ix = ox * sw - pl + kx * dw
                                if 0 <= ix < wd:
                                    acc += x[((b * h + iy) * wd + ix) * ic + src] * w[(ky * kw + kx) * oc + c]
                        r = requant_int16x8(acc, mult[c], shift[c], wide)
                        y[yo + c] = lo if r < lo else (hi if r > hi else r)
    return run
