# The viper convolution loops shared by CONV_2D, CONV_2D_ADD, DEPTHWISE_CONV_2D and DS_CONV_2D.
# Geometry arrives as an array('i') of non-negative values (read through ptr32, which is exact
# for them on every port); signed scalars (zero points, clamps) as arguments.
# Per output pixel the int32 accumulators of all its channels go to `acc` and one
# _core.requant call writes them; padded taps add in_zp * w, cancelling their share of the
# in_off * sum(w) folded into the bias at pack time (as kernels/ref/conv_2d.py).
import micropython

from ._core import dot_rows, requant
from .add import add_elems

# geometry array layout (bind makes it with geometry())
NB, H, WD, IC, OC, KH, KW, OH, OW, SH, SW, DH, DW, PT, PL, DM = range(16)


def geometry(xshape, kh, kw, oshape, params, dm=1):
    """array('i') of the 16 geometry values for x of xshape, a kh x kw kernel, output oshape and
    the op's first 6 params (strides, dilations, padding: all >= 0, as prepare makes them)."""
    from array import array
    nb, h, wd, ic = xshape
    _, oh, ow, oc = oshape
    g = [nb, h, wd, ic, oc, kh, kw, oh, ow] + list(params[:6]) + [dm]
    for val in g:
        if val < 0:
            raise ValueError("negative geometry value %d" % val)
    return array("i", g)


@micropython.viper
def conv_pixel(x, w, bias, acc, g, xo0: int, oy: int, ox: int, in_zp: int):
    """The int32 accumulators of CONV_2D output pixel (oy, ox) of the batch image at x[xo0] into
    acc[0:oc]; w is [oc, kh, kw, ic] int8."""
    xp = ptr8(x)
    wp = ptr8(w)
    bp = ptr16(bias)
    ap = ptr32(acc)
    gp = ptr32(g)
    h = int(gp[1])
    wd = int(gp[2])
    ic = int(gp[3])
    oc = int(gp[4])
    kh = int(gp[5])
    kw = int(gp[6])
    sh = int(gp[9])
    sw = int(gp[10])
    dh = int(gp[11])
    dw = int(gp[12])
    pt = int(gp[13])
    pl = int(gp[14])
    wo = 0
    ic4 = ic - 3
    iy0 = oy * sh - pt
    ix0 = ox * sw - pl
    if dw == 1 and iy0 >= 0 and iy0 + (kh - 1) * dh < h and ix0 >= 0 and ix0 + kw - 1 < wd:
        # the whole receptive field is inside the input (most pixels): each kernel row reads
        # kw * ic contiguous bytes of x and of w, one unrolled dot product per row
        n = kw * ic
        n4 = n - 3
        for c in range(oc):
            a = (((int(bp[2 * c + 1]) ^ 0x8000) - 0x8000) << 16) | int(bp[2 * c])
            for ky in range(kh):
                xq = ptr8(uint(xp) + xo0 + ((iy0 + ky * dh) * wd + ix0) * ic)
                wq = ptr8(uint(wp) + wo)
                j = 0
                while j < n4:
                    a += (((int(xq[j]) ^ 0x80) - 0x80) * ((int(wq[j]) ^ 0x80) - 0x80) +
                          ((int(xq[j + 1]) ^ 0x80) - 0x80) * ((int(wq[j + 1]) ^ 0x80) - 0x80) +
                          ((int(xq[j + 2]) ^ 0x80) - 0x80) * ((int(wq[j + 2]) ^ 0x80) - 0x80) +
                          ((int(xq[j + 3]) ^ 0x80) - 0x80) * ((int(wq[j + 3]) ^ 0x80) - 0x80))
                    j += 4
                while j < n:
                    a += ((int(xq[j]) ^ 0x80) - 0x80) * ((int(wq[j]) ^ 0x80) - 0x80)
                    j += 1
                wo += n
            ap[c] = a
        return
    for c in range(oc):
        a = (((int(bp[2 * c + 1]) ^ 0x8000) - 0x8000) << 16) | int(bp[2 * c])
        for ky in range(kh):
            iy = oy * sh - pt + ky * dh
            for kx in range(kw):
                ix = ox * sw - pl + kx * dw
                if iy >= 0 and iy < h and ix >= 0 and ix < wd:
                    xo = xo0 + (iy * wd + ix) * ic
                    if ic == 1:
                        a += ((int(xp[xo]) ^ 0x80) - 0x80) * ((int(wp[wo]) ^ 0x80) - 0x80)
                    else:  # unrolled by 4, as _core.dot_rows
                        j = 0
                        while j < ic4:
                            a += (((int(xp[xo + j]) ^ 0x80) - 0x80) * ((int(wp[wo + j]) ^ 0x80) - 0x80) +
                                  ((int(xp[xo + j + 1]) ^ 0x80) - 0x80) * ((int(wp[wo + j + 1]) ^ 0x80) - 0x80) +
                                  ((int(xp[xo + j + 2]) ^ 0x80) - 0x80) * ((int(wp[wo + j + 2]) ^ 0x80) - 0x80) +
                                  ((int(xp[xo + j + 3]) ^ 0x80) - 0x80) * ((int(wp[wo + j + 3]) ^ 0x80) - 0x80))
                            j += 4
                        while j < ic:
                            a += ((int(xp[xo + j]) ^ 0x80) - 0x80) * ((int(wp[wo + j]) ^ 0x80) - 0x80)
                            j += 1
                else:
                    for j in range(ic):
                        a += in_zp * ((int(wp[wo + j]) ^ 0x80) - 0x80)
                wo += ic
        ap[c] = a


@micropython.viper
def pixels(depthwise: int, x, w, bias, mult, shift, y, acc, g, in_zp: int, out_off: int, lo: int, hi: int):
    """CONV_2D (depthwise 0) or DEPTHWISE_CONV_2D (1) over the whole output: per output pixel
    its accumulators (conv_pixel or dw_pixel), then one requant of them into y."""
    gp = ptr32(g)
    nb = int(gp[0])
    xsize = int(gp[1]) * int(gp[2]) * int(gp[3])
    oc = int(gp[4])
    oh = int(gp[7])
    ow = int(gp[8])
    yo = 0
    for b in range(nb):
        for oy in range(oh):
            for ox in range(ow):
                if depthwise:
                    dw_pixel(x, b * xsize, x, 0, w, bias, acc, g, oy, ox, in_zp)
                else:
                    conv_pixel(x, w, bias, acc, g, b * xsize, oy, ox, in_zp)
                requant(acc, oc, mult, shift, oc, y, yo, out_off, lo, hi)
                yo += oc


@micropython.viper
def dw_pixel(x, xo0: int, ring, use_ring: int, w, bias, acc, g, oy: int, ox: int, in_zp: int):
    """The int32 accumulators of the depthwise output pixel (oy, ox) of batch image at x[xo0]
    into acc[0:oc] (w is [1, kh, kw, oc]; channel c reads input channel c // dm). use_ring:
    input rows above oy come from `ring` (DS_CONV_2D computed in place, see ds_conv.py)."""
    xp = ptr8(x)
    rp = ptr8(ring)
    wp = ptr8(w)
    bp = ptr16(bias)
    ap = ptr32(acc)
    gp = ptr32(g)
    h = int(gp[1])
    wd = int(gp[2])
    ic = int(gp[3])
    oc = int(gp[4])
    kh = int(gp[5])
    kw = int(gp[6])
    sh = int(gp[9])
    sw = int(gp[10])
    dh = int(gp[11])
    dw = int(gp[12])
    pt = int(gp[13])
    pl = int(gp[14])
    dm = int(gp[15])
    rows = pt
    if rows < 1:
        rows = 1
    row = wd * ic
    iy0 = oy * sh - pt
    ix0 = ox * sw - pl
    if iy0 >= 0 and iy0 + (kh - 1) * dh < h and ix0 >= 0 and ix0 + (kw - 1) * dw < wd:
        # every tap inside the input (most pixels): no bounds checks
        for c in range(oc):
            src = c // dm
            a = (((int(bp[2 * c + 1]) ^ 0x8000) - 0x8000) << 16) | int(bp[2 * c])
            wo = c
            for ky in range(kh):
                iy = iy0 + ky * dh
                if use_ring and iy < oy:
                    xq = ptr8(uint(rp) + (iy % rows) * row + ix0 * ic + src)
                else:
                    xq = ptr8(uint(xp) + xo0 + iy * row + ix0 * ic + src)
                xo = 0
                for kx in range(kw):
                    a += ((int(xq[xo]) ^ 0x80) - 0x80) * ((int(wp[wo]) ^ 0x80) - 0x80)
                    xo += dw * ic
                    wo += oc
            ap[c] = a
        return
    for c in range(oc):
        src = c // dm
        a = (((int(bp[2 * c + 1]) ^ 0x8000) - 0x8000) << 16) | int(bp[2 * c])
        for ky in range(kh):
            iy = oy * sh - pt + ky * dh
            for kx in range(kw):
                ix = ox * sw - pl + kx * dw
                wv = (int(wp[(ky * kw + kx) * oc + c]) ^ 0x80) - 0x80
                if iy >= 0 and iy < h and ix >= 0 and ix < wd:
                    if use_ring and iy < oy:
                        a += ((int(rp[(iy % rows) * row + ix * ic + src]) ^ 0x80) - 0x80) * wv
                    else:
                        a += ((int(xp[xo0 + iy * row + ix * ic + src]) ^ 0x80) - 0x80) * wv
                else:
                    a += in_zp * wv
        ap[c] = a


@micropython.viper
def copy8(src, so: int, dst, do: int, n: int):
    """dst[do:do + n] = src[so:so + n] (bytes)."""
    sp = ptr8(src)
    dp = ptr8(dst)
    for i in range(n):
        dp[do + i] = sp[so + i]


@micropython.viper
def conv_add_pixels(x, w, bias, mult, shift, skip, y, acc, tmp, g, st, first: int, in_zp: int,
                    c_off: int, c_lo: int, c_hi: int):
    """CONV_2D_ADD over the whole output: per pixel the convolution requantized to int8 in tmp
    (as CONV_2D stores it), then ADD of tmp and skip (add.add_elems, ADD's state st) into y.
    y may share skip's bytes: a pixel's skip values are read before its outputs are written."""
    gp = ptr32(g)
    nb = int(gp[0])
    xsize = int(gp[1]) * int(gp[2]) * int(gp[3])
    oc = int(gp[4])
    oh = int(gp[7])
    ow = int(gp[8])
    yo = 0
    for b in range(nb):
        for oy in range(oh):
            for ox in range(ow):
                conv_pixel(x, w, bias, acc, g, b * xsize, oy, ox, in_zp)
                requant(acc, oc, mult, shift, oc, tmp, 0, c_off, c_lo, c_hi)
                if first:
                    add_elems(tmp, 0, 1, skip, yo, 1, oc, st, acc, y, yo)
                else:
                    add_elems(skip, yo, 1, tmp, 0, 1, oc, st, acc, y, yo)
                yo += oc


@micropython.viper
def ds_rows(x, ring, band, dww, db, dmul, ds, pww, pb, pmul, ps, y, acc, g, q):
    """DS_CONV_2D over the whole output (ds_conv.py): per output row the depthwise row into
    band (int8), the input row saved to ring when computed in place, then the pointwise
    convolution of the band into the output row. q: the signed scalars as int16 (in_zp, d_off,
    d_lo, d_hi, p_off, p_lo, p_hi, in place, ring rows), read sign-extended from ptr16."""
    gp = ptr32(g)
    qp = ptr16(q)
    nb = int(gp[0])
    xsize = int(gp[1]) * int(gp[2]) * int(gp[3])
    row = int(gp[2]) * int(gp[3])
    c = int(gp[4])
    oh = int(gp[7])
    ow = int(gp[8])
    in_zp = (int(qp[0]) ^ 0x8000) - 0x8000
    d_off = (int(qp[1]) ^ 0x8000) - 0x8000
    d_lo = (int(qp[2]) ^ 0x8000) - 0x8000
    d_hi = (int(qp[3]) ^ 0x8000) - 0x8000
    p_off = (int(qp[4]) ^ 0x8000) - 0x8000
    p_lo = (int(qp[5]) ^ 0x8000) - 0x8000
    p_hi = (int(qp[6]) ^ 0x8000) - 0x8000
    inplace = int(qp[7])
    rows = int(qp[8])
    oc = int(qp[9])
    yo = 0
    for b in range(nb):
        xo = b * xsize
        for oy in range(oh):
            for ox in range(ow):
                dw_pixel(x, xo, ring, inplace, dww, db, acc, g, oy, ox, in_zp)
                requant(acc, c, dmul, ds, c, band, ox * c, d_off, d_lo, d_hi)
            if inplace:
                copy8(x, xo + oy * row, ring, (oy % rows) * row, row)
            for ox in range(ow):
                dot_rows(band, ox * c, pww, pb, oc, c, acc)
                requant(acc, oc, pmul, ps, oc, y, yo, p_off, p_lo, p_hi)
                yo += oc
