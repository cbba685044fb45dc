# SLICE, pure Python: the output walked in row-major order, each element read from the input
# block at params[0] with the input's strides (_strided.copy; wider elements as bytes).
from ...compat import retype
from . import _strided


def bind(op, m, v, arena):
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    size = ty.nbytes // ty.size() if ty.size() else 1
    x = retype(v[op.inputs[0]], tx.nbytes, "B") if size > 1 else v[op.inputs[0]]
    y = retype(v[op.outputs[0]], ty.nbytes, "B") if size > 1 else v[op.outputs[0]]
    dims, ss, ds, _ = _strided.read(op.params, 1)
    dims, ss, ds = _strided.in_bytes(dims, ss, ds, size)
    idx = [0] * len(dims)
    copy = _strided.copy

    def run(x=x, start=op.params[0] * size, y=y, dims=dims, ss=ss, ds=ds, idx=idx, n=ty.size()):
        if n:
            copy(x, start, y, 0, dims, ss, ds, idx)
    return run
