# DS_CONV_2D (depthwise-separable fusion), pure Python, streamed row by row:
# 1. the depthwise output row oy is computed into a one-row band (int8, as DEPTHWISE_CONV_2D
#    would store it);
# 2. the 1x1 pointwise convolution turns that band into output row oy.
# The depthwise output never exists in full. When the output is planned over the input (same
# shape, stride 1), writing output row oy destroys input row oy, which later rows still read
# (up to pad_top rows back): before it is overwritten, input row oy is saved in a ring of
# max(pad_top, 1) rows in scratch, and reads of rows already overwritten go to the ring.
# Scratch: [ring: R * W * C, padded to 16, only when input and output shapes are equal][band: OW * C].
# MicroPython-safe (docs/micropython.md): scratch views from compat.typed_view, multipliers
# read as uint16 halves (quant.mbqm_halves), state bound as default arguments of run().
from ...compat import retype, typed_view
from ..quant import mbqm_halves


def bind(op, m, v, arena):
    i_x, i_dw, i_db, i_dm, i_ds, i_pw, i_pb, i_pm, i_ps = op.inputs[:9]  # np-packed: np-only constants follow
    x, dww, db, ds = v[i_x], v[i_dw], v[i_db], v[i_ds]
    pww, pb, ps = v[i_pw], v[i_pb], v[i_ps]
    dmh = retype(v[i_dm], m.tensors[i_dm].nbytes, "H")
    pmh = retype(v[i_pm], m.tensors[i_pm].nbytes, "H")
    y = v[op.outputs[0]]
    sh, sw, dh, dw, pt, pl, in_zp, d_off, d_lo, d_hi, mult = op.params[:11]
    p_off, p_lo, p_hi = op.params[18], op.params[19], op.params[20]  # [17]: in_zp, folded into pb
    tx, ty = m.tensors[i_x], m.tensors[op.outputs[0]]
    nb, h, wd, ic = tx.shape
    _, kh, kw, c = m.tensors[i_dw].shape
    _, oh, ow, oc = ty.shape
    # ring mode only for an exact in-place pair (same shape); a row overlap with an offset
    # (planner.ROWWISE) needs no ring: the plan keeps every row still read clear of the output
    inplace = tx.kind == ty.kind and tx.offset == ty.offset and (h, wd, ic) == (oh, ow, oc)
    rows = pt if pt > 0 else 1
    ring_bytes = (rows * wd * ic + 15) // 16 * 16 if (h, wd, ic) == (oh, ow, oc) else 0
    ring = typed_view(arena, op.scratch_offset, rows * wd * ic if ring_bytes else 0, "b")
    band = typed_view(arena, op.scratch_offset + ring_bytes, ow * c, "b")
    row = wd * ic

    def run(x=x, dww=dww, db=db, dmh=dmh, ds=ds, pww=pww, pb=pb, pmh=pmh, ps=ps, y=y, ring=ring,
            band=band, nb=nb, h=h, wd=wd, ic=ic, c=c, kh=kh, kw=kw, oh=oh, ow=ow, oc=oc, sh=sh,
            sw=sw, dh=dh, dw=dw, pt=pt, pl=pl, in_zp=in_zp, d_off=d_off, d_lo=d_lo, d_hi=d_hi,
            mult=mult, p_off=p_off, p_lo=p_lo, p_hi=p_hi, inplace=inplace, rows=rows, row=row):
        for b in range(nb):
            for oy in range(oh):
                for ox in range(ow):
                    for ch in range(c):
                        src = ch // mult
                        acc = db[ch]
                        for ky in range(kh):
                            iy = oy * sh - pt + ky * dh
                            for kx in range(kw):
                                ix = ox * sw - pl + kx * dw
                                wv = dww[(ky * kw + kx) * c + ch]
                                if 0 <= iy < h and 0 <= ix < wd:
                                    if inplace and iy < oy:
                                        acc += ring[(iy % rows) * row + ix * ic + src] * wv
                                    else:
                                        acc += x[((b * h + iy) * wd + ix) * ic + src] * wv
                                else:
                                    acc += in_zp * wv
                        r = mbqm_halves(acc, dmh[2 * ch], dmh[2 * ch + 1], ds[ch]) + d_off
                        band[ox * c + ch] = d_lo if r < d_lo else (d_hi if r > d_hi else r)
                if inplace:
                    base = (b * h + oy) * row
                    ro = (oy % rows) * row
                    for j in range(row):
                        ring[ro + j] = x[base + j]
                for ox in range(ow):
                    yo = ((b * oh + oy) * ow + ox) * oc
                    for o in range(oc):
                        acc = pb[o]
                        wo = o * c
                        bo = ox * c
                        for j in range(c):
                            acc += band[bo + j] * pww[wo + j]
                        r = mbqm_halves(acc, pmh[2 * o], pmh[2 * o + 1], ps[o]) + p_off
                        y[yo + o] = p_lo if r < p_lo else (p_hi if r > p_hi else r)
    return run
