# Padded-input staging shared by the numpy convolution kernels.
import numpy as np
from numpy.lib.stride_tricks import as_strided


def padded_size(in_size, out_size, k, dilation, stride):
    return (out_size - 1) * stride + (k - 1) * dilation + 1


def pad_bytes(xshape, yshape, kh, kw, dh, dw, sh, sw, pt, pl):
    n, h, w, c = xshape
    hp = padded_size(h, yshape[1], kh, dh, sh)
    wp = padded_size(w, yshape[2], kw, dw, sw)
    if pt == 0 and pl == 0 and hp <= h and wp <= w:
        return 0
    return n * max(hp, pt + 1) * max(wp, pl + 1) * c


def stage(x, arena, offset, yshape, kh, kw, dh, dw, sh, sw, pt, pl, zp):
    """Return (copy_in, windows): copy_in() refreshes the padded buffer from x (or is None
    when no padding is needed); windows is an int8 view (N, OH, OW, KH, KW, C) over it."""
    n, h, w, c = x.shape
    oh, ow = yshape[1], yshape[2]
    hp = padded_size(h, oh, kh, dh, sh)
    wp = padded_size(w, ow, kw, dw, sw)
    if pt == 0 and pl == 0 and hp <= h and wp <= w:
        src, copy_in = x, None
    else:
        hb, wb = max(hp, pt + 1), max(wp, pl + 1)
        src = np.frombuffer(arena, np.int8, n * hb * wb * c, offset).reshape(n, hb, wb, c)
        rows, cols = min(h, hb - pt), min(w, wb - pl)
        dst = src[:, pt:pt + rows, pl:pl + cols, :]
        part = x[:, :rows, :cols, :]

        def copy_in():
            src[...] = zp  # the arena is shared over time: the border must be rewritten
            dst[...] = part
    s = src.strides
    win = as_strided(src, shape=(n, oh, ow, kh, kw, c),
                     strides=(s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]), writeable=False)
    return copy_in, win
