# MAX_POOL_2D, numpy: one maximum-reduction over the tap-major windows of the -128-padded
# input (see _pool.py), straight into the output, then the activation clamp.
import numpy as np

from ._pool import tap_major
from .requant import run_steps


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    lo, hi = np.int8(op.params[6]), np.int8(op.params[7])
    steps, col, _ = tap_major(x, y, op.params, arena, op.scratch_offset, np.int8, np.int8(-128))
    y1 = y.reshape(1, -1)
    steps += [(np.maximum.reduce, (col, 0, None, y1, True)), (np.fmax, (y1, lo, y1)), (np.fmin, (y1, hi, y1))]
    return run_steps(steps)
