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
from ..quant import mbqm_halves, wrap32


def fc64(acc, m15, unused, total):
    """MultiplyByQuantizedMultiplier's int64 overload with its operands prepared at pack time: the
    multiplier rounded to 15 bits and the total right shift 15 - shift; one rounding, then C's
    cast to int32. The prepare keeps acc * m15 inside int64."""
    return wrap32((acc * m15 + (1 << (total - 1))) >> total)


def sigmoid16(v, tab):
    """reference_integer_ops::Logistic on int16 v (Q3.12; input multiplier 3, no shift)."""
    v = v * 3
    a = -v if v < 0 else v
    uh = a >> 9
    if uh >= 255:
        r = 0x7FFF << 10
    else:
        ua = tab[uh]
        r = (ua << 9) + (a & 0x1FF) * (tab[uh + 1] - ua)
    r = r + 512 if v >= 0 else (1 << 25) - r + 511
    return r >> 10


def tanh16(v, mult, shift, tab):
    """reference_integer_ops::Tanh on int16 v: scaled by mult / 2**shift (rounded) to Q3.12 x 3."""
    v = (v * mult + ((1 << (shift - 1)) if shift > 0 else 0)) >> shift
    a = -v if v < 0 else v
    uh = a >> 8
    if uh >= 255:
        r = 0xFFFF << 8
    else:
        ua = tab[uh]
        r = (ua << 8) + (a & 0xFF) * (tab[uh + 1] - ua)
    r = r - (1 << 23) + 128 if v >= 0 else (1 << 23) + 127 - r
    return r >> 8


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
                        ig = sigmoid16(a, tab)
                    elif g == 1:
                        fg = sigmoid16(a, tab)
                    elif g == 2:
                        cg = tanh16(a, 3, 0, tab)
                    else:
                        og = sigmoid16(a, tab)
                a = mbqm_halves(fg * c[so + j], mh[16], mh[17], shift[8])
                a = -32768 if a < -32768 else (32767 if a > 32767 else a)
                e = mbqm_halves(ig * cg, mh[18], mh[19], shift[9])
                e = -32768 if e < -32768 else (32767 if e > 32767 else e)
                a += e
                a = -32768 if a < -32768 else (32767 if a > 32767 else a)
                if qclip:
                    a = -qclip if a < -qclip else (qclip if a > qclip else a)
                c[so + j] = a
                a = mbqm_halves(tanh16(a, tmul, tsh, tab) * og, mh[20], mh[21], shift[10]) + hzp
                hn[j] = lo if a < lo else (hi if a > hi else a)
            for j in range(ns):
                h[so + j] = hn[j]
                y[yo + j] = hn[j]
    return run
