# CONV_2D_ADD (residual fusion), pure Python: for each output element, the convolution value
# is computed and requantized to int8 exactly as CONV_2D would store it, then combined with the
# same-index skip element exactly as ADD does. No intermediate tensor exists; the output may
# share the skip tensor's bytes because element i of the output reads only element i of skip,
# before writing it. Params: CONV_2D's 10, conv_position, then ADD's (see conv_2d.py, add.py).
from ..broadcast import unpack_params
from ..quant import mbqm


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s, i_skip = op.inputs
    x, w, bias, mult, shift, skip = v[i_x], v[i_w], v[i_b], v[i_m], v[i_s], v[i_skip]
    y = v[op.outputs[0]]
    sh, sw, dh, dw, pt, pl, in_zp, c_off, c_lo, c_hi = op.params[:10]
    pos = op.params[10]
    off1, off2, left_shift, m1, s1, m2, s2, out_off, mo, so, lo, hi = op.params[11:23]
    unpack_params(op.params, 23)  # validates the (same-shape) broadcast plan
    nb, h, wd, ic = m.tensors[i_x].shape
    oc, kh, kw, _ = m.tensors[i_w].shape
    _, oh, ow, _ = m.tensors[op.outputs[0]].shape
    up = 1 << left_shift

    def run():
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
                        r = mbqm(acc, mult[c], shift[c]) + c_off
                        r = c_lo if r < c_lo else (c_hi if r > c_hi else r)
                        s = skip[yo + c]
                        x1, x2 = (r, s) if pos == 1 else (s, r)
                        v1 = mbqm((x1 + off1) * up, m1, s1)
                        v2 = mbqm((x2 + off2) * up, m2, s2)
                        r = mbqm(v1 + v2, mo, so) + out_off
                        y[yo + c] = lo if r < lo else (hi if r > hi else r)
    return run
