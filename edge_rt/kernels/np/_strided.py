# Strided copies shared by the numpy data-movement kernels: the plan of
# compiler/prepare/strided.py ([nd, dims..., ss..., ds...], element units) becomes two
# as_strided views made at bind time, and each run is one np.copyto between them.
import numpy as np
from numpy.lib.stride_tricks import as_strided


def read(params, start):
    n = params[start]
    s = start + 1
    return (list(params[s:s + n]), list(params[s + n:s + 2 * n]), list(params[s + 2 * n:s + 3 * n]),
            s + 3 * n)


def view(a, base, dims, strides, writeable=False):
    """The elements of a (any shape) at flat base + sum(c_d * strides_d), as a (dims) array."""
    flat = a.reshape(-1)
    if not flat.size or 0 in dims:
        return flat[:0].reshape([0] * len(dims)) if 0 in dims else flat[:0]
    isz = flat.itemsize
    return as_strided(flat[base:], shape=tuple(dims), strides=tuple(s * isz for s in strides),
                      writeable=writeable)


def views(src, sbase, dst, dbase, dims, ss, ds):
    """(dst view, src view) of the plan: np.copyto(*views) runs it."""
    return view(dst, dbase, dims, ds, True), view(src, sbase, dims, ss)


def bind_whole(op, m, v):
    """The run() of an op that is one plan (params[0:]) from its whole input to its whole output
    (TRANSPOSE, BROADCAST_TO): one np.copyto between the two views."""
    dims, ss, ds, _ = read(op.params, 0)
    dst, src = views(v[op.inputs[0]], 0, v[op.outputs[0]], 0, dims, ss, ds)
    copyto = np.copyto

    def run():
        copyto(dst, src)
    return run
