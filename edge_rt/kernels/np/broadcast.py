# Broadcasting for the numpy kernels: reshape the operands along a plan from
# kernels/broadcast.py so that numpy's own broadcasting walks the same element pairs.
# A zero stride becomes a size-1 axis; the plan only merges axes that are contiguous (or
# all-broadcast) in every operand, so each reshape is a view of the contiguous tensor.
import numpy as np

from ..broadcast import unpack_params


def operand_views(a, b, y, params, start):
    """(a, b, y) reshaped to the plan stored in params[start:]."""
    dims, sa, sb = unpack_params(params, start)
    shape_a = tuple(d if s else 1 for d, s in zip(dims, sa))
    shape_b = tuple(d if s else 1 for d, s in zip(dims, sb))
    return a.reshape(shape_a), b.reshape(shape_b), y.reshape(tuple(dims))


def int8_table(fn):
    """fn evaluated on every int8 value, laid out for lookup by the value's uint8 bit
    pattern (t[x.view(uint8)] == fn(x)): 0..127 first, then -128..-1."""
    x = np.arange(256, dtype=np.int64)
    x[128:] -= 256
    return fn(x)
