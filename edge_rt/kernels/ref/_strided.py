# Strided copies shared by the data-movement kernels (TRANSPOSE, SLICE, PACK, UNPACK,
# BROADCAST_TO): a plan read from op params [nd, dims..., ss..., ds...] (element units,
# made by compiler/prepare/strided.py) walks `dims` in row-major order copying
# src[sbase + sum(c_d * ss_d)] to dst[dbase + sum(c_d * ds_d)].
# Elements wider than one byte are copied as bytes (a float read allocates on MicroPython):
# the plan then gains an innermost axis of `size` bytes. Nothing here allocates once bound:
# the odometer is a list made at bind time and every value is a small int.
from ...compat import retype


def read(params, start):
    """(dims, ss, ds, end) of the plan at params[start:]."""
    n = params[start]
    s = start + 1
    return (list(params[s:s + n]), list(params[s + n:s + 2 * n]), list(params[s + 2 * n:s + 3 * n]),
            s + 3 * n)


def in_bytes(dims, ss, ds, size):
    """The plan over bytes for elements of `size` bytes."""
    if size == 1:
        return dims, ss, ds
    return (dims + [size], [s * size for s in ss] + [1], [d * size for d in ds] + [1])


def copy(src, sbase, dst, dbase, dims, ss, ds, idx):
    """Run one plan; idx is a bind-time list of len(dims) used as the odometer."""
    nd = len(dims)
    inner = dims[nd - 1]
    si = ss[nd - 1]
    di = ds[nd - 1]
    for d in range(nd):
        idx[d] = 0
    xo = sbase
    yo = dbase
    while True:
        xi = xo
        yi = yo
        for _ in range(inner):
            dst[yi] = src[xi]
            xi += si
            yi += di
        d = nd - 2
        while d >= 0:  # advance the odometer over the outer axes
            idx[d] += 1
            xo += ss[d]
            yo += ds[d]
            if idx[d] < dims[d]:
                break
            xo -= ss[d] * dims[d]
            yo -= ds[d] * dims[d]
            idx[d] = 0
            d -= 1
        if d < 0:
            return


def bind_whole(op, m, v):
    """The run() of an op that is one plan (params[0:]) from its whole input to its whole output
    (TRANSPOSE, BROADCAST_TO)."""
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    size = ty.nbytes // ty.size() if ty.size() else 1
    x = retype(v[op.inputs[0]], tx.nbytes, "B") if size > 1 else v[op.inputs[0]]
    y = retype(v[op.outputs[0]], ty.nbytes, "B") if size > 1 else v[op.outputs[0]]
    dims, ss, ds, _ = read(op.params, 0)
    dims, ss, ds = in_bytes(dims, ss, ds, size)
    idx = [0] * len(dims)

    def run(x=x, y=y, dims=dims, ss=ss, ds=ds, idx=idx):
        copy(x, 0, y, 0, dims, ss, ds, idx)
    return run
