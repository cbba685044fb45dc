# The viper pooling loop shared by AVERAGE_POOL_2D and MAX_POOL_2D (kernels/ref/*_pool_2d.py's
# arithmetic): the window clipped to the input; average rounds half away from zero over the
# count of valid taps, max starts from -128; both clamp to the fused activation.
import micropython
from array import array


def geometry(op, m):
    """array('i') [nb, h, w, c, oh, ow, sh, sw, fh, fw, pt, pl] (all >= 0)."""
    sh, sw, fh, fw, pt, pl = op.params[:6]
    nb, h, w, c = m.tensors[op.inputs[0]].shape
    _, oh, ow, _ = m.tensors[op.outputs[0]].shape
    g = [nb, h, w, c, oh, ow, sh, sw, fh, fw, pt, pl]
    for val in g:
        if val < 0:
            raise ValueError("negative pooling geometry value %d" % val)
    return array("i", g)


@micropython.viper
def pool(x, y, g, average: int, lo: int, hi: int):
    xp = ptr8(x)
    yp = ptr8(y)
    gp = ptr32(g)
    nb = int(gp[0])
    h = int(gp[1])
    w = int(gp[2])
    c = int(gp[3])
    oh = int(gp[4])
    ow = int(gp[5])
    sh = int(gp[6])
    sw = int(gp[7])
    fh = int(gp[8])
    fw = int(gp[9])
    pt = int(gp[10])
    pl = int(gp[11])
    yo = 0
    for b in range(nb):
        for oy in range(oh):
            iy0 = oy * sh - pt
            ky0 = 0
            if iy0 < 0:
                ky0 = 0 - iy0
            ky1 = fh
            if h - iy0 < fh:
                ky1 = h - iy0
            for ox in range(ow):
                ix0 = ox * sw - pl
                kx0 = 0
                if ix0 < 0:
                    kx0 = 0 - ix0
                kx1 = fw
                if w - ix0 < fw:
                    kx1 = w - ix0
                count = (ky1 - ky0) * (kx1 - kx0)
                half = count // 2
                for ch in range(c):
                    acc = 0
                    if not average:
                        acc = -128
                    for ky in range(ky0, ky1):
                        xo = ((b * h + iy0 + ky) * w + ix0) * c + ch
                        for kx in range(kx0, kx1):
                            val = (int(xp[xo + kx * c]) ^ 0x80) - 0x80
                            if average:
                                acc += val
                            elif val > acc:
                                acc = val
                    if average:
                        if acc > 0:
                            acc = (acc + half) // count
                        else:
                            acc = 0 - ((half - acc) // count)
                    if acc < lo:
                        acc = lo
                    if acc > hi:
                        acc = hi
                    yp[yo] = acc
                    yo += 1
