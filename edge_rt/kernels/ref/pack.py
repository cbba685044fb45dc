# PACK, pure Python: input k's elements, in order, go to the output from element base_k on,
# at the output's strides without the new axis (_strided.copy; wider elements as bytes).
from ...compat import retype
from . import _strided


def bind(op, m, v, arena):
    ty = m.tensors[op.outputs[0]]
    size = ty.nbytes // ty.size() if ty.size() else 1
    n = op.params[0]
    bases = [b * size for b in op.params[1:1 + n]]
    xs = [retype(v[t], m.tensors[t].nbytes, "B") if size > 1 else v[t] for t in op.inputs]
    y = retype(v[op.outputs[0]], ty.nbytes, "B") if size > 1 else v[op.outputs[0]]
    dims, ss, ds, _ = _strided.read(op.params, 1 + n)
    dims, ss, ds = _strided.in_bytes(dims, ss, ds, size)
    idx = [0] * len(dims)
    copy = _strided.copy

    def run(xs=xs, bases=bases, y=y, dims=dims, ss=ss, ds=ds, idx=idx, n=n, empty=not ty.size()):
        if empty:
            return
        for k in range(n):
            copy(xs[k], 0, y, bases[k], dims, ss, ds, idx)
    return run
