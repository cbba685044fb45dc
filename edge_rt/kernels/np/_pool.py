# Pooling windows shared by the numpy pooling kernels, allocation-free: the input is staged
# into a padded scratch copy (pad value chosen so padded taps cannot change the result),
# and one reduction over the (KH, KW) axes of a strided window view does all windows.
#   MAX: int8 staging padded with -128, the reference's initial maximum, so a padded tap
#        never wins (an all-padding window is rejected at pack time).
#   AVERAGE: float32 staging padded with 0 (sums of at most KH*KW int8 values are exact
#        integers far below 2**24), then the reference's rounding division by the count of
#        valid taps, see average_pool_2d.py.
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


def scratch_bytes(xshape, yshape, params, average):
    n, h, w, c, oh, ow, hb, wb, pad = _geometry(xshape, yshape, params)
    if not average:
        return r16(n * hb * wb * c) if pad else 0
    out = n * oh * ow * c
    return r16(n * hb * wb * c * 4) + r16(out * 4) + 2 * r16(out * 8)


def staged_windows(x, y, params, arena, offset, dtype, pad_value, always):
    """(steps, windows, bytes): steps refresh the padded staging copy of x (skipped when
    no padding is needed and always is False); windows is the (N,OH,OW,KH,KW,C) view."""
    sh, sw, fh, fw, pt, pl = params[:6]
    n, h, w, c, oh, ow, hb, wb, pad = _geometry(x.shape, y.shape, params)
    steps = []
    src = x
    used = 0
    if pad or always:
        src = np.frombuffer(arena, dtype, n * hb * wb * c, offset).reshape(n, hb, wb, c)
        used = r16(src.nbytes)
        if pad:  # the arena is shared over time: the border is rewritten every run
            steps.append((np.ndarray.fill, (src, pad_value)))
        rows, cols = min(h, hb - pt), min(w, wb - pl)
        steps.append((setitem, (src[:, pt:pt + rows, pl:pl + cols, :], Ellipsis, x[:, :rows, :cols, :])))
    s = src.strides
    win = as_strided(src, shape=(n, oh, ow, fh, fw, c),
                     strides=(s[0], s[1] * sh, s[2] * sw, s[1], s[2], s[3]), writeable=False)
    return steps, win, used


def valid_counts(xshape, yshape, params):
    """Valid-tap count per output position (OH, OW), as the reference counts them."""
    sh, sw, fh, fw, pt, pl = params[:6]
    h, w = xshape[1], xshape[2]
    oy = np.arange(yshape[1]) * sh - pt
    ox = np.arange(yshape[2]) * sw - pl
    ny = np.minimum(fh, h - oy) - np.maximum(0, -oy)
    nx = np.minimum(fw, w - ox) - np.maximum(0, -ox)
    return ny[:, None] * nx[None, :]
