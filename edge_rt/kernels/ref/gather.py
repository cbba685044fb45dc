# GATHER, pure Python: the readable specification. Params [batch, outer, axis_size, count,
# inner] (compiler/prepare/gather.py). For batch b, outer block o and index position i, the
# inner run of `inner` elements at x[((b*outer + o)*axis_size + indices[b*count + i])*inner]
# is copied to the next `inner` elements of the output. Wider elements are copied as bytes.
# An index outside [0, axis_size) raises InputError, as TFLite Micro fails the invoke.
from ...compat import retype
from ...errors import InputError


def bind(op, m, v, arena):
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    size = tx.nbytes // tx.size() if tx.size() else 1
    x = retype(v[op.inputs[0]], tx.nbytes, "B") if size > 1 else v[op.inputs[0]]
    y = retype(v[op.outputs[0]], ty.nbytes, "B") if size > 1 else v[op.outputs[0]]
    ind = v[op.inputs[1]]
    batch, outer, axis_size, count, inner = op.params[:5]

    def run(x=x, y=y, ind=ind, batch=batch, outer=outer, axis_size=axis_size, count=count,
            run_b=inner * size, where=op.index):
        yo = 0
        for b in range(batch):
            for o in range(outer):
                block = (b * outer + o) * axis_size
                for i in range(count):
                    j = ind[b * count + i]
                    if j < 0 or j >= axis_size:
                        raise InputError("op %d (GATHER): index %d out of range [0, %d)" % (where, j, axis_size))
                    xo = (block + j) * run_b
                    for k in range(run_b):
                        y[yo + k] = x[xo + k]
                    yo += run_b
    return run
