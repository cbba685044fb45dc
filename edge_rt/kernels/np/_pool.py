# Pooling windows shared by the numpy pooling kernels, allocation-free (numpy 1.x and 2.x):
# the windows are copied tap-major into scratch col (T, N*OH*OW*C) (T = KH*KW taps; one
# strided copy, from a padded staging copy when the windows reach into padding), and the
# reduction over taps runs on that contiguous block, so numpy never needs to buffer:
#   MAX: int8, padded with -128, the reference's initial maximum, so a padded tap never wins
#        (an all-padding window is rejected at pack time); maximum-reduce over axis 0.
#   AVERAGE: float32, padded with 0 (sums of at most T int8 values are exact integers far
#        below 2**24); the sum is one BLAS product ones(1, T) @ col, then the reference's
#        rounding division by the count of valid taps, see average_pool_2d.py. int16 inputs
#        sum in float32 up to 512 taps (every partial sum is an integer of at most
#        512 * 2**15 = 2**24: exact), in float64 beyond (65,535 * 2**15 is exact there); MAX
#        runs on int16, padded with -32768.
import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._conv_common import padded_size, r16
from .requant import setitem


def _geometry(xshape, yshape, params):
    sh, sw, fh, fw, pt, pl = params[:6]
    n, h, w, c = xshape
    oh, ow = yshape[1], yshape[2]
    hb = max(padded_size(h, oh, fh, 1, sh), pt + 1)
    wb = max(padded_size(w, ow, fw, 1, sw), pl + 1)
    pad = pt > 0 or pl > 0 or hb > h or wb > w
    return n, h, w, c, oh, ow, hb, wb, pad


F32_TAPS = 512  # int16 sums of up to this many taps are exact in float32


def sum_type(int16, taps):
    """The float type AVERAGE_POOL_2D sums in (see the top of the file)."""
    return np.float64 if int16 and taps > F32_TAPS else np.float32


def scratch_bytes(xshape, yshape, params, average, int16=False):
    n, h, w, c, oh, ow, hb, wb, pad = _geometry(xshape, yshape, params)
    isz = np.dtype(sum_type(int16, params[2] * params[3])).itemsize if average else (2 if int16 else 1)
    out = n * oh * ow * c
    total = (r16(n * hb * wb * c * isz) if pad else 0) + r16(params[2] * params[3] * out * isz)
    if average:
        total += r16(out * isz) + 2 * r16(out * 8)
    return total


def tap_major(x, y, params, arena, offset, dtype, pad_value):
    """(steps, col, bytes): steps fill col (T, N*OH*OW*C) of dtype with the windows' values
    (padding reads pad_value); bytes is the scratch used from offset."""
    sh, sw, fh, fw, pt, pl = params[:6]
    n, h, w, c, oh, ow, hb, wb, pad = _geometry(x.shape, y.shape, params)
    steps = []
    src = x
    used = 0
    if pad:
        src = np.frombuffer(arena, dtype, n * hb * wb * c, offset).reshape(n, hb, wb, c)
        used = r16(src.nbytes)
        # the arena is shared over time: the border is rewritten every run
        steps.append((np.ndarray.fill, (src, pad_value)))
        rows, cols = min(h, hb - pt), min(w, wb - pl)
        steps.append((setitem, (src[:, pt:pt + rows, pl:pl + cols, :], Ellipsis, x[:, :rows, :cols, :])))
    taps, size = fh * fw, n * oh * ow * c
    col = np.frombuffer(arena, dtype, taps * size, offset + used)
    if not pad and n == 1 and fh == h and fw == w:
        # one window covering the whole image: the input already is tap-major, a flat copy
        # is cheaper than the 6-D strided one
        steps.append((setitem, (col, Ellipsis, x.reshape(-1))))
    else:
        s = src.strides
        win = as_strided(src, shape=(fh, fw, n, oh, ow, c),
                         strides=(s[1], s[2], s[0], s[1] * sh, s[2] * sw, s[3]), writeable=False)
        steps.append((setitem, (col.reshape(fh, fw, n, oh, ow, c), Ellipsis, win)))
    return steps, col.reshape(taps, size), used + r16(col.nbytes)


def valid_counts(xshape, yshape, params):
    """Valid-tap count per output position (OH, OW), as the reference counts them."""
    sh, sw, fh, fw, pt, pl = params[:6]
    h, w = xshape[1], xshape[2]
    oy = np.arange(yshape[1]) * sh - pt
    ox = np.arange(yshape[2]) * sw - pl
    ny = np.minimum(fh, h - oy) - np.maximum(0, -oy)
    nx = np.minimum(fw, w - ox) - np.maximum(0, -ox)
    return ny[:, None] * nx[None, :]
