# AVERAGE_POOL_2D, numpy: int32 window sums over valid taps (one vectorized add per tap)
# in arena scratch, then the reference's rounding division by the valid-tap count:
#   q = (acc + cnt/2) / cnt for acc > 0, (acc - cnt/2) / cnt otherwise, C truncation,
# i.e. sign(acc) * ((|acc| + cnt // 2) // cnt). |acc| <= 128 * KH * KW fits int32.
import numpy as np

from ._pool import tap_views


def scratch_bytes(yshape):
    n, oh, ow, c = yshape
    return n * oh * ow * c * 4


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    lo, hi = op.params[6], op.params[7]
    acc = np.frombuffer(arena, np.int32, y.size, op.scratch_offset).reshape(y.shape)
    pairs = tap_views(x, acc, op.params)
    # valid-tap count per output position; it depends on (oy, ox) only
    cnt = np.zeros((1,) + y.shape[1:3] + (1,), np.int32)
    for dst, _ in tap_views(x, cnt, op.params):
        dst += 1
    half = cnt // 2

    def run():
        acc.fill(0)
        for dst, src in pairs:
            np.add(dst, src, out=dst)
        np.sign(acc, out=y, casting="unsafe")  # y holds the sign until the final store
        np.abs(acc, out=acc)
        np.add(acc, half, out=acc)
        np.floor_divide(acc, cnt, out=acc)
        np.multiply(acc, y, out=acc)
        np.clip(acc, lo, hi, out=acc)
        np.copyto(y, acc, casting="unsafe")
    return run
