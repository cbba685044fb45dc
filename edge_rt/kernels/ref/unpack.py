# UNPACK, pure Python: output k's elements, in order, come from the input from element
# base_k on, at the input's strides without the axis (_strided.copy; wider elements as bytes).
from ...compat import retype
from . import _strided


def bind(op, m, v, arena):
    tx = m.tensors[op.inputs[0]]
    size = tx.nbytes // tx.size() if tx.size() else 1
    n = op.params[0]
    bases = [b * size for b in op.params[1:1 + n]]
    x = retype(v[op.inputs[0]], tx.nbytes, "B") if size > 1 else v[op.inputs[0]]
    ys = [retype(v[t], m.tensors[t].nbytes, "B") if size > 1 else v[t] for t in op.outputs]
    dims, ss, ds, _ = _strided.read(op.params, 1 + n)
    dims, ss, ds = _strided.in_bytes(dims, ss, ds, size)
    idx = [0] * len(dims)
    copy = _strided.copy

    def run(x=x, bases=bases, ys=ys, dims=dims, ss=ss, ds=ds, idx=idx, n=n, empty=not tx.size()):
        if empty:
            return
        for k in range(n):
            copy(x, bases[k], ys[k], 0, dims, ss, ds, idx)
    return run
