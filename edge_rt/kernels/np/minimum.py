# MINIMUM, numpy: as maximum.py with np.fmin, and `a < b ? a : b` for float32.
import numpy as np

from . import maximum


def bind(op, m, v, arena):
    return maximum.bind(op, m, v, arena, np.fmin, np.less)
