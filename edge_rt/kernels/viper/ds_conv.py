# DS_CONV_2D (depthwise-separable fusion), viper: kernels/ref/ds_conv.py's algorithm and
# scratch layout ([ring: R * W * C, padded to 16][band: OW * C]) in native code. Per output
# row: the depthwise row into the band (int8), the input row saved to the ring when computed in
# place, then the 1x1 pointwise convolution of the band into the output row (_conv.ds_rows).
from array import array

from ...compat import typed_view
from ._conv import ds_rows, geometry


def bind(op, m, v, arena):
    i_x, i_dw, i_db, i_dm, i_ds, i_pw, i_pb, i_pm, i_ps = op.inputs[:9]
    sh, sw, dh, dw, pt, pl, in_zp, d_off, d_lo, d_hi, mult = op.params[:11]
    p_off, p_lo, p_hi = op.params[18], op.params[19], op.params[20]
    tx, ty = m.tensors[i_x], m.tensors[op.outputs[0]]
    nb, h, wd, ic = tx.shape
    _, kh, kw, c = m.tensors[i_dw].shape
    _, oh, ow, oc = ty.shape
    inplace = tx.kind == ty.kind and tx.offset == ty.offset
    rows = pt if pt > 0 else 1
    ring_bytes = (rows * wd * ic + 15) // 16 * 16
    ring = typed_view(arena, op.scratch_offset, rows * wd * ic, "b")
    band = typed_view(arena, op.scratch_offset + ring_bytes, ow * c, "b")
    g = geometry(tx.shape, kh, kw, (nb, oh, ow, c), op.params, mult)

    q = array("h", [in_zp, d_off, d_lo, d_hi, p_off, p_lo, p_hi, 1 if inplace else 0, rows, oc])

    def run(x=v[i_x], dww=v[i_dw], db=v[i_db], dmul=v[i_dm], ds=v[i_ds], pww=v[i_pw], pb=v[i_pb],
            pmul=v[i_pm], ps=v[i_ps], y=v[op.outputs[0]], ring=ring, band=band, g=g,
            acc=bytearray(4 * (c if c > oc else oc)), q=q):
        ds_rows(x, ring, band, dww, db, dmul, ds, pww, pb, pmul, ps, y, acc, g, q)
    return run
