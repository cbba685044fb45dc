# GATHER, numpy: per batch, one ndarray.take along the axis of the input seen as
# (outer, axis_size, inner), into the output seen as (outer, count, inner). The indices are
# first copied into intp scratch (take converts other index dtypes on every call) and checked
# against [0, axis_size) (an index outside fails the invoke, as in TFLite Micro); then
# mode="clip" keeps take from buffering its output.
import numpy as np

from ...errors import InputError


def bind(op, m, v, arena):
    batch, outer, axis_size, count, inner = op.params[:5]
    x = v[op.inputs[0]].reshape(batch, outer, axis_size, inner)
    y = v[op.outputs[0]].reshape(batch, outer, count, inner)
    ind = v[op.inputs[1]].reshape(batch, count)
    wide = np.frombuffer(arena, np.intp, batch * count, op.scratch_offset).reshape(batch, count)
    parts = [(x[b].take, wide[b], y[b]) for b in range(batch)]
    copyto = np.copyto
    where = op.index

    def run():
        copyto(wide, ind)
        if wide.size and (wide.min() < 0 or wide.max() >= axis_size):
            bad = wide[(wide < 0) | (wide >= axis_size)].reshape(-1)[0]
            raise InputError("op %d (GATHER): index %d out of range [0, %d)" % (where, bad, axis_size))
        for take, idx, out in parts:
            take(idx, 1, out, "clip")
    return run
