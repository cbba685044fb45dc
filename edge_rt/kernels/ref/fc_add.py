# FULLY_CONNECTED_ADD (residual fusion), pure Python: each output value of the
# FULLY_CONNECTED part is requantized to int8 exactly as FULLY_CONNECTED stores it, then
# combined with the same-index skip element exactly as ADD does; no intermediate tensor.
# Params: FULLY_CONNECTED's 3, conv_position, then ADD's (see fully_connected.py, add.py).
# MicroPython-safe as those two: state in default arguments, multipliers as uint16 halves.
from ..broadcast import unpack_params
from ..quant import mbqm_halves
from ._weighted import fc_geometry, fc_weights, operands8
from .add import element_fn


def bind(op, m, v, arena):
    x, w, bias, mh, shift, y = operands8(op, m, v)
    skip = v[op.inputs[5]]
    f_off, f_lo, f_hi, pos = op.params[:4]
    add = element_fn(op.params, 4, 1)
    unpack_params(op.params, 16)  # validates the (same-shape) broadcast plan
    n, k, batches = fc_geometry(op, m)
    w = fc_weights(op, m, w, n, k)

    def run(x=x, w=w, bias=bias, mh=mh, shift=shift, skip=skip, y=y, n=n, k=k, batches=batches,
            f_off=f_off, f_lo=f_lo, f_hi=f_hi, first=pos == 1, add=add):
        for b in range(batches):
            xo = b * k
            for o in range(n):
                wo = o * k
                acc = bias[o]
                for j in range(k):
                    acc += x[xo + j] * w[wo + j]
                r = mbqm_halves(acc, mh[2 * o], mh[2 * o + 1], shift[o]) + f_off
                r = f_lo if r < f_lo else (f_hi if r > f_hi else r)
                i = b * n + o
                y[i] = add(r, skip[i]) if first else add(skip[i], r)
    return run
