# AVERAGE_POOL_2D, numpy: window sums as one BLAS product ones(T) . col over the tap-major
# windows of the zero-padded input (see _pool.py), then the reference's rounding division by
# the valid-tap count cnt and the activation clamp:
#   q = (acc + cnt/2) / cnt for acc > 0, (acc - cnt/2) / cnt otherwise, C truncation,
# i.e. sign(acc) * floor((|acc| + cnt // 2) / cnt), clamped to [act_min, act_max].
# For a given cnt that is a function of acc in [-128*cnt, 127*cnt] alone, so it is tabulated
# at bind time (a constant, outside the arena), computed by exactly that formula, and the
# division becomes one take: the float sums (exact integers) are cast to intp, and
#   one count (every VALID pooling, global pooling): take mode "wrap" with a table of
#     N = 255*cnt + 1 entries reads a negative acc at acc + N, past the non-negative ones;
#   several counts (SAME padding): each count has its own segment, and a per-position base
#     (segment start + 128*cnt) is added to acc first.
# Tables above _LUT_MAX entries (windows of ~250+ taps) keep the float path: |acc|, add,
# floor_divide, copysign, clamp in float64 (floor_divide of integer values is exact there).
import numpy as np

from ._conv_common import r16
from ._pool import sum_type, tap_major, valid_counts
from .requant import run_steps, setitem

_LUT_MAX = 1 << 16


def _round_div(acc, cnt, lo, hi):
    q = np.sign(acc) * ((np.abs(acc) + cnt // 2) // cnt)
    return np.clip(q, lo, hi).astype(np.int8)


def _counts(xshape, yshape, params):
    cnt = valid_counts(xshape, yshape, params)
    return cnt, sorted(set(int(c) for c in cnt.ravel()))


def table(xshape, yshape, params):
    """The rounding table of the op (see the top of the file), or None when it would exceed
    _LUT_MAX entries (then the float path runs). The packer stores it as the op's np-only
    constant input: bind then only maps it (load time); bind computes it when absent."""
    _, counts = _counts(xshape, yshape, params)
    lo, hi = params[6], params[7]
    if sum(255 * c + 1 for c in counts) > _LUT_MAX:
        return None
    if len(counts) == 1:
        c = counts[0]
        a = np.arange(255 * c + 1, dtype=np.int64)
        return _round_div(np.where(a <= 127 * c, a, a - (255 * c + 1)), c, lo, hi)
    return np.concatenate([_round_div(np.arange(-128 * c, 127 * c + 1, dtype=np.int64), c, lo, hi)
                           for c in counts])


def bind(op, m, v, arena):
    x = v[op.inputs[0]]
    y = v[op.outputs[0]]
    lo, hi = op.params[6], op.params[7]
    # int16: float32 or float64 sums (_pool.sum_type: exact either way), always the float path
    ft = sum_type(x.dtype == np.int16, op.params[2] * op.params[3])
    steps, col, used = tap_major(x, y, op.params, arena, op.scratch_offset, ft, ft(0))
    size = y.size
    o = op.scratch_offset + used
    acc = np.frombuffer(arena, ft, size, o)
    ones = np.ones(col.shape[0], ft)
    steps.append((ones.dot, (col, acc)))
    cnt, counts = _counts(x.shape, y.shape, op.params)
    y1 = y.reshape(-1)
    if x.dtype == np.int16:
        return run_steps(steps + _float_steps(y, cnt, acc, arena, o, lo, hi))
    lut = v[op.inputs[1]] if len(op.inputs) > 1 else table(x.shape, y.shape, op.params)
    if lut is None:
        return run_steps(steps + _float_steps(y, cnt, acc, arena, o, lo, hi))
    want = sum(255 * c + 1 for c in counts)
    if lut.size != want:
        raise ValueError("rounding table holds %d entries, expected %d" % (lut.size, want))
    idx = np.frombuffer(arena, np.intp, size, o + r16(size * 4))
    steps.append((setitem, (idx, Ellipsis, acc)))
    if len(counts) == 1:
        steps.append((lut.take, (idx, None, y1, "wrap")))
        return run_steps(steps)
    parts, start = {}, 0
    for c in counts:
        parts[c] = start + 128 * c
        start += 255 * c + 1
    base = np.vectorize(parts.__getitem__, otypes=[np.intp])(cnt)[None, :, :, None]
    base = np.ascontiguousarray(np.broadcast_to(base, y.shape)).reshape(-1)
    steps += [(np.add, (idx, base, idx)), (lut.take, (idx, None, y1, "clip"))]
    return run_steps(steps)


def _float_steps(y, cnt, acc, arena, o, lo, hi):
    size = y.size
    a = np.frombuffer(arena, np.float64, size, o + r16(acc.nbytes))
    u = np.frombuffer(arena, np.float64, size, o + r16(acc.nbytes) + r16(size * 8))
    cnt = cnt.astype(np.float64)[None, :, :, None]
    cnt = np.ascontiguousarray(np.broadcast_to(cnt, y.shape)).reshape(-1)
    half = np.floor(cnt / 2)
    y1 = y.reshape(-1)
    return [(setitem, (a, Ellipsis, acc)), (np.absolute, (a, u)), (np.add, (u, half, u)),
            (np.floor_divide, (u, cnt, u)), (np.copysign, (u, a, u)),
            (np.fmax, (u, np.float64(lo), u)), (np.fmin, (u, np.float64(hi), u)),
            (setitem, (y1, Ellipsis, u))]
