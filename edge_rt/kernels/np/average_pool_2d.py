# AVERAGE_POOL_2D, numpy: window sums as one BLAS product over the tap-major windows of the
# zero-padded input (see _pool.py), then the reference's rounding division by the valid-tap
# count cnt:
#   q = (acc + cnt/2) / cnt for acc > 0, (acc - cnt/2) / cnt otherwise, C truncation,
# i.e. sign(acc) * floor((|acc| + cnt // 2) / cnt), computed in float64 where floor_divide
# of integer values is exact. Count and half-count are constants of the output's shape.
import numpy as np

from ._conv_common import r16
from ._pool import tap_major, valid_counts
from .requant import run_steps, setitem


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    lo, hi = np.float64(op.params[6]), np.float64(op.params[7])
    steps, col, used = tap_major(x, y, op.params, arena, op.scratch_offset, np.float32, np.float32(0))
    size = y.size
    o = op.scratch_offset + used
    acc = np.frombuffer(arena, np.float32, size, o).reshape(1, size)
    a = np.frombuffer(arena, np.float64, size, o + r16(size * 4)).reshape(1, size)
    u = np.frombuffer(arena, np.float64, size, o + r16(size * 4) + r16(size * 8)).reshape(1, size)
    cnt = valid_counts(x.shape, y.shape, op.params).astype(np.float64)[None, :, :, None]
    cnt = np.ascontiguousarray(np.broadcast_to(cnt, y.shape)).reshape(1, size)
    half = np.floor(cnt / 2)
    ones = np.ones((1, col.shape[0]), np.float32)
    y1 = y.reshape(1, size)
    steps += [(np.matmul, (ones, col, acc)), (setitem, (a, Ellipsis, acc)),
              (np.absolute, (a, u)), (np.add, (u, half, u)), (np.floor_divide, (u, cnt, u)),
              (np.copysign, (u, a, u)), (np.fmax, (u, lo, u)), (np.fmin, (u, hi, u)),
              (setitem, (y1, Ellipsis, u))]
    return run_steps(steps)
