# CONV_2D_ADD (residual fusion), pure Python: for each output element, the convolution value
# is computed and requantized to int8 exactly as CONV_2D would store it, then combined with the
# same-index skip element exactly as ADD does. No intermediate tensor exists; the output may
# share the skip tensor's bytes because element i of the output reads only element i of skip,
# before writing it. Params: CONV_2D's 10, conv_position, then ADD's (see conv_2d.py, add.py).
# MicroPython-safe as those two: state in default arguments, multipliers as uint16 halves.
from ..broadcast import unpack_params
from ..quant import mbqm_halves
from ._weighted import conv_geometry, operands8
from .add import element_fn


def bind(op, m, v, arena):
    x, w, bias, mh, shift, y = operands8(op, m, v)
    skip = v[op.inputs[5]]
    sh, sw, dh, dw, pt, pl, in_zp, c_off, c_lo, c_hi = op.params[:10]
    first = op.params[10] == 1  # the convolution feeds ADD's first input
    add = element_fn(op.params, 11, 1)
    unpack_params(op.params, 23)  # validates the (same-shape) broadcast plan
    nb, h, wd, ic, oc, kh, kw, oh, ow = conv_geometry(op, m)

    def run(x=x, w=w, bias=bias, mh=mh, shift=shift, skip=skip, y=y, nb=nb, h=h, wd=wd, ic=ic,
            oc=oc, kh=kh, kw=kw, oh=oh, ow=ow, sh=sh, sw=sw, dh=dh, dw=dw, pt=pt, pl=pl,
            in_zp=in_zp, c_off=c_off, c_lo=c_lo, c_hi=c_hi, first=first, add=add):
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
                        r = mbqm_halves(acc, mh[2 * c], mh[2 * c + 1], shift[c]) + c_off
                        r = c_lo if r < c_lo else (c_hi if r > c_hi else r)
                        s = skip[yo + c]
                        y[yo + c] = add(r, s) if first else add(s, r)
    return run
