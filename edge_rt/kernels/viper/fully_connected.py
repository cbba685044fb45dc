# FULLY_CONNECTED, viper: the ref kernel's arithmetic (kernels/ref/fully_connected.py) in
# native code. Per batch row: n int32 dot products into a bind-time accumulator row
# (_core.dot_rows), then one requantization pass (_core.requant), all in one call (_core.fc).
from ._core import fc


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]
    out_off, lo, hi = op.params
    n, k = m.tensors[i_w].shape
    batches = m.tensors[i_x].size() // k

    def run(x=v[i_x], w=v[i_w], bias=v[i_b], mult=v[i_m], shift=v[i_s], y=v[op.outputs[0]], n=n, k=k,
            batches=batches, acc=bytearray(4 * n), out_off=out_off, lo=lo, hi=hi):
        fc(x, w, bias, mult, shift, y, acc, batches, n, k, out_off, lo, hi)
    return run
