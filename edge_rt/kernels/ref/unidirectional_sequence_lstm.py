# UNIDIRECTIONAL_SEQUENCE_LSTM (int8 or int16 activations, int16 cell state), pure Python: the
# readable specification of TFLite Micro's integer LSTM (operands: compiler/prepare/
# unidirectional_sequence_lstm.py).
# For each batch b and time step t, cell by cell (gates read only the input and the old hidden
# state, the cell update is elementwise, so cell j is finished before cell j+1 starts):
#   gate_k[j] = act_k(sat16(fc16(x, W_x, k, j) + fc16(h_old, W_h, k, j)))   (Q3.12 in, Q0.15 out)
#   c[j] = clip(sat16(mul16(f, c[j]) + mul16(i, g)));  h_new[j] = sat(mul(tanh(c[j]), o) + h_zp)
# then h = h_new (from scratch) and y[b, t] = h. With int8 activations every product fits a small
# int: int8 x int8 sums, and int16 x int16 gate products below 2**30 (sigmoid outputs are >= 0,
# tanh > -2**15). With int16 activations the FC sums are int64 in TFLite Micro (and may be big
# ints on a 32-bit port), rescaled by fc64.
from ...compat import retype, typed_view
from ..quant import mbqm64_reduced, mbqm_halves
from ._sigmoid16 import rescale, sigmoid16, tanh16


def fc64(acc, m15, unused, total):
    """quant.mbqm64 with its operands reduced at pack time (quant.mbqm64_reduced), in the
    signature of mbqm_halves. The prepare keeps acc * m15 inside int64."""
    return mbqm64_reduced(acc, m15, total)


def bind(op, m, v, arena):
    i_x, i_wx, i_wh, i_b, i_m, i_s, i_t, i_h, i_c = op.inputs[:9]
    x, wx, wh, bias, shift, tab = v[i_x], v[i_wx], v[i_wh], v[i_b], v[i_s], v[i_t]
    mh = retype(v[i_m], m.tensors[i_m].nbytes, "H")  # int32 multipliers as uint16 halves
    h, c, y = v[i_h], v[i_c], v[op.outputs[0]]
    nb, nt, ni, ns, tm, hzp, qclip, tmul, tsh, width = op.params
    hn = typed_view(arena, op.scratch_offset, ns * width, "b" if width == 1 else "h")
    fcq = mbqm_halves if width == 1 else fc64  # same operands: (acc, multiplier halves, shift)
    lo, hi = (-128, 127) if width == 1 else (-32768, 32767)
    # per (batch, step): (input offset, output offset, state offset)
    steps = []
    for b in range(nb):
        for t in range(nt):
            row = t * nb + b if tm else b * nt + t
            steps.append((row * ni, row * ns, b * ns))
    steps = tuple(steps)
    k = (x, wx, wh, bias, mh, shift, tab, h, c, y, hn, steps, ni, ns, hzp, qclip, tmul, tsh, fcq, lo, hi)

    def run(k=k):
        x, wx, wh, bias, mh, shift, tab, h, c, y, hn, steps, ni, ns, hzp, qclip, tmul, tsh, fcq, lo, hi = k
        for xo, yo, so in steps:
            for j in range(ns):
                # gates in the order input, forget, cell, output
                ig = fg = cg = 0
                for g in range(4):
                    r = g * ns + j
                    acc = bias[r]
                    wo = r * ni
                    for q in range(ni):
                        acc += x[xo + q] * wx[wo + q]
                    a = fcq(acc, mh[2 * g], mh[2 * g + 1], shift[g])
                    a = -32768 if a < -32768 else (32767 if a > 32767 else a)
                    acc = bias[4 * ns + r]
                    wo = r * ns
                    for q in range(ns):
                        acc += h[so + q] * wh[wo + q]
                    e = fcq(acc, mh[8 + 2 * g], mh[9 + 2 * g], shift[4 + g])
                    e = -32768 if e < -32768 else (32767 if e > 32767 else e)
                    a += e
                    a = -32768 if a < -32768 else (32767 if a > 32767 else a)
                    if g == 0:
                        ig = sigmoid16(a * 3, tab)
                    elif g == 1:
                        fg = sigmoid16(a * 3, tab)
                    elif g == 2:
                        cg = tanh16(a * 3, tab)
                    else:
                        og = sigmoid16(a * 3, tab)
                a = mbqm_halves(fg * c[so + j], mh[16], mh[17], shift[8])
                a = -32768 if a < -32768 else (32767 if a > 32767 else a)
                e = mbqm_halves(ig * cg, mh[18], mh[19], shift[9])
                e = -32768 if e < -32768 else (32767 if e > 32767 else e)
                a += e
                a = -32768 if a < -32768 else (32767 if a > 32767 else a)
                if qclip:
                    a = -qclip if a < -qclip else (qclip if a > qclip else a)
                c[so + j] = a
                a = mbqm_halves(tanh16(rescale(a, tmul, tsh), tab) * og, mh[20], mh[21], shift[10]) + hzp
                hn[j] = lo if a < lo else (hi if a > hi else a)
            for j in range(ns):
                h[so + j] = hn[j]
                y[yo + j] = hn[j]
    return run
