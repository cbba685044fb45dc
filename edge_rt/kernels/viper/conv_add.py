# CONV_2D_ADD (residual fusion), viper: kernels/ref/conv_add.py's arithmetic in native code
# (_conv.conv_add_pixels): per output pixel the convolution requantized to int8 as CONV_2D
# stores it, then combined with the same-index skip elements as ADD does (add.py's tables).
from ..broadcast import unpack_params
from ._conv import conv_add_pixels, geometry
from .add import state


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s, i_skip = op.inputs[:6]
    in_zp, c_off, c_lo, c_hi = op.params[6:10]
    unpack_params(op.params, 23)  # validates the (same-shape) broadcast plan
    oc, kh, kw, _ = m.tensors[i_w].shape
    g = geometry(m.tensors[i_x].shape, kh, kw, m.tensors[op.outputs[0]].shape, op.params)

    def run(x=v[i_x], w=v[i_w], bias=v[i_b], mult=v[i_m], shift=v[i_s], skip=v[i_skip], y=v[op.outputs[0]],
            acc=bytearray(4 * oc), tmp=bytearray(oc), g=g, st=state(op.params, 11, 1),
            first=1 if op.params[10] == 1 else 0, in_zp=in_zp, c_off=c_off, c_lo=c_lo, c_hi=c_hi):
        conv_add_pixels(x, w, bias, mult, shift, skip, y, acc, tmp, g, st, first, in_zp, c_off, c_lo, c_hi)
    return run
