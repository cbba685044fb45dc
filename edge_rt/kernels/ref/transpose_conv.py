# TRANSPOSE_CONV (int8), pure Python: the readable specification. Params: see
# compiler/prepare/transpose_conv.py. The reference scatters each input pixel through the
# filter; here each output (b, oy, ox, oc) gathers the same terms (integer sums: the same
# value): input row iy contributes through filter row fy when iy * sh - pad_h + fy == oy,
# likewise for columns, so
#   acc = bias[oc] + sum over those (iy, fy), (ix, fx) and ic of (x + in_off) * w[oc, fy, fx, ic]
#   y = clamp(mbqm(acc, multiplier[oc], shift[oc]) + out_off, act_min, act_max)
# |acc| < 2**31 is checked at pack time; on 32-bit MicroPython it stays a small int while
# |bias| + 255 * 128 * taps < 2**30 (quant.mbqm_halves falls back, exact, beyond).
from ...compat import retype
from ..quant import mbqm_halves


def _taps(n_out, n_in, k, stride, pad, in_step, k_step):
    """Per output index: [(input offset, filter offset)] of the (i, f) with i*stride - pad + f == o."""
    out = []
    for o in range(n_out):
        t = []
        for f in range(k):
            d = o + pad - f
            if d >= 0 and d % stride == 0 and d // stride < n_in:
                t.append((d // stride * in_step, f * k_step))
        out.append(t)
    return out


def bind(op, m, v, arena):
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]
    x, w, bias, shift = v[i_x], v[i_w], v[i_b], v[i_s]
    mh = retype(v[i_m], m.tensors[i_m].nbytes, "H")  # multipliers as uint16 halves (small ints)
    y = v[op.outputs[0]]
    sh, sw, pad_h, pad_w, in_off, out_off, lo, hi = op.params[:8]
    nb, ih, iw, ic = m.tensors[i_x].shape
    oc, fh, fw, _ = m.tensors[i_w].shape
    _, oh, ow, _ = m.tensors[op.outputs[0]].shape
    rows = _taps(oh, ih, fh, sh, pad_h, iw * ic, fw * ic)
    cols = _taps(ow, iw, fw, sw, pad_w, ic, ic)

    # state as default arguments: a closure over more than 5 variables copies them per call
    def run(x=x, w=w, bias=bias, mh=mh, shift=shift, y=y, nb=nb, img=ih * iw * ic, ic=ic, oc=oc,
            wstep=fh * fw * ic, rows=rows, cols=cols, in_off=in_off, out_off=out_off, lo=lo, hi=hi):
        yo = 0
        for b in range(nb):
            base = b * img
            for rt in rows:
                for ct in cols:
                    for c in range(oc):
                        acc = bias[c]
                        wb = c * wstep
                        for xr, wr in rt:
                            for xc, wc in ct:
                                xo = base + xr + xc
                                wo = wb + wr + wc
                                for j in range(ic):
                                    acc += (x[xo + j] + in_off) * w[wo + j]
                        r = mbqm_halves(acc, mh[2 * c], mh[2 * c + 1], shift[c]) + out_off
                        y[yo] = lo if r < lo else (hi if r > hi else r)
                        yo += 1
    return run
