# FULLY_CONNECTED_ADD (residual fusion), pure Python: each output value of the
# FULLY_CONNECTED part is requantized to int8 exactly as FULLY_CONNECTED stores it, then
# combined with the same-index skip element exactly as ADD does; no intermediate tensor.
# Params: FULLY_CONNECTED's 3, conv_position, then ADD's (see fully_connected.py, add.py).
from ..broadcast import unpack_params
from ..quant import mbqm


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s, i_skip = op.inputs
    x, w, bias, mult, shift, skip = v[i_x], v[i_w], v[i_b], v[i_m], v[i_s], v[i_skip]
    y = v[op.outputs[0]]
    f_off, f_lo, f_hi, pos = op.params[:4]
    off1, off2, left_shift, m1, s1, m2, s2, out_off, mo, so, lo, hi = op.params[4:16]
    unpack_params(op.params, 16)  # validates the (same-shape) broadcast plan
    n, k = m.tensors[i_w].shape
    batches = m.tensors[i_x].size() // k
    up = 1 << left_shift

    def run():
        for b in range(batches):
            for o in range(n):
                acc = bias[o]
                xo, wo = b * k, o * k
                for j in range(k):
                    acc += x[xo + j] * w[wo + j]
                r = mbqm(acc, mult[o], shift[o]) + f_off
                r = f_lo if r < f_lo else (f_hi if r > f_hi else r)
                i = b * n + o
                x1, x2 = (r, skip[i]) if pos == 1 else (skip[i], r)
                v1 = mbqm((x1 + off1) * up, m1, s1)
                v2 = mbqm((x2 + off2) * up, m2, s2)
                r = mbqm(v1 + v2, mo, so) + out_off
                y[i] = lo if r < lo else (hi if r > hi else r)
    return run
