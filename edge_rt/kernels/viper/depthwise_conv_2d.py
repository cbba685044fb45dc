# DEPTHWISE_CONV_2D, viper: the ref kernel's arithmetic (kernels/ref/depthwise_conv_2d.py) in
# native code (_conv.pixels: per output pixel the accumulators of its channels, then one
# requantization of them).
from ._conv import geometry, pixels


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]
    in_zp, out_off, lo, hi, dm = op.params[6:11]
    oc = m.tensors[op.outputs[0]].shape[3]
    g = geometry(m.tensors[i_x].shape, m.tensors[i_w].shape[1], m.tensors[i_w].shape[2],
                 m.tensors[op.outputs[0]].shape, op.params, dm)

    def run(x=v[i_x], w=v[i_w], bias=v[i_b], mult=v[i_m], shift=v[i_s], y=v[op.outputs[0]],
            acc=bytearray(4 * oc), g=g, in_zp=in_zp, out_off=out_off, lo=lo, hi=hi):
        pixels(1, x, w, bias, mult, shift, y, acc, g, in_zp, out_off, lo, hi)
    return run
