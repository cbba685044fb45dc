# FULLY_CONNECTED_ADD (residual fusion), viper: kernels/ref/fc_add.py's arithmetic: per batch
# row the FULLY_CONNECTED values requantized to int8 as FULLY_CONNECTED stores them (in tmp),
# then combined with the same-index skip elements as ADD does (add.add_elems).
from ..broadcast import unpack_params
from ._core import dot_rows, requant
from .add import add_elems, state


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s, i_skip = op.inputs[:6]
    f_off, f_lo, f_hi, pos = op.params[:4]
    unpack_params(op.params, 16)  # validates the (same-shape) broadcast plan
    n, k = m.tensors[i_w].shape
    batches = m.tensors[i_x].size() // k

    def run(x=v[i_x], w=v[i_w], bias=v[i_b], mult=v[i_m], shift=v[i_s], skip=v[i_skip], y=v[op.outputs[0]],
            acc=bytearray(4 * n), tmp=bytearray(n), st=state(op.params, 4, 1), n=n, k=k, batches=batches,
            first=pos == 1, f_off=f_off, f_lo=f_lo, f_hi=f_hi):
        for b in range(batches):
            dot_rows(x, b * k, w, bias, n, k, acc)
            requant(acc, n, mult, shift, n, tmp, 0, f_off, f_lo, f_hi)
            if first:
                add_elems(tmp, 0, 1, skip, b * n, 1, n, st, acc, y, b * n)
            else:
                add_elems(skip, b * n, 1, tmp, 0, 1, n, st, acc, y, b * n)
    return run
