# MAX_POOL_2D, numpy: one maximum-reduction over the tap-major windows of the -128-padded
# (int16: -32768-padded) input (see _pool.py), straight into the output, then the activation clamp.
import numpy as np

from ._pool import tap_major
from .requant import run_steps


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    dt = x.dtype.type  # int8, or int16 (TFLite Micro's int16 max starts from -32768)
    lo, hi = dt(op.params[6]), dt(op.params[7])
    steps, col, _ = tap_major(x, y, op.params, arena, op.scratch_offset, dt, dt(np.iinfo(dt).min))
    y1 = y.reshape(1, -1)
    steps += [(np.maximum.reduce, (col, 0, None, y1, True)), (np.fmax, (y1, lo, y1)), (np.fmin, (y1, hi, y1))]
    return run_steps(steps)
