# MAX_POOL_2D, numpy: one maximum-reduction over the windows of the -128-padded input (see
# _pool.py), straight into the output, then the activation clamp.
import numpy as np

from ._pool import staged_windows
from .requant import run_steps


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    lo, hi = np.int8(op.params[6]), np.int8(op.params[7])
    steps, win, _ = staged_windows(x, y, op.params, arena, op.scratch_offset, np.int8, np.int8(-128), False)
    steps += [(np.maximum.reduce, (win, (3, 4), None, y)), (np.fmax, (y, lo, y)), (np.fmin, (y, hi, y))]
    return run_steps(steps)
