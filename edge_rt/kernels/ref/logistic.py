# LOGISTIC, pure Python.
# int8: y = table[x + 128]; the table is TFLite Micro's integer logistic evaluated on all 256
# inputs at pack time (compiler/prepare/logistic.py).
# int16 (reference_integer_ops::Logistic): per element
#   v = round(x * mult / 2**shift)          the input on the table's grid (Q3.12 x 3)
#   a = |v|, uh = a >> 9, ut = a & 511     table index and 9-bit interpolation fraction
#   r = T[uh] * 2**9 + ut * (T[uh + 1] - T[uh])   (0x7FFF * 2**10 once uh >= 255)
#   y = (r + 2**9) >> 10 for v >= 0, else (2**25 - r + 2**9 - 1) >> 10   (1 - sigmoid(|v|))
# Small ints (32-bit MicroPython): |x * mult| < 2**30 (mult <= 32767), but adding the rounding
# half 2**(shift-1) can pass 2**30, so for shift >= 2 the product is halved first:
# (p + 2**(s-1)) >> s == ((p >> 1) + 2**(s-2)) >> (s-1), exact for floor shifts.
from .lut import lookup_run
from ... import format as F


def bind(op, m, v, arena):
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:
        return _bind16(op, m, v)
    return lookup_run(v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], m.tensors[op.outputs[0]].size())


def _bind16(op, m, v):
    mult, shift = op.params
    k = (v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], m.tensors[op.outputs[0]].size(), mult, shift,
         (1 << (shift - 2)) if shift >= 2 else 0)

    def run(k=k):
        x, tab, y, n, mult, shift, half = k
        s1 = shift - 1
        for i in range(n):
            p = x[i] * mult
            if shift >= 2:
                p = ((p >> 1) + half) >> s1
            elif shift == 1:
                p = (p + 1) >> 1
            a = -p if p < 0 else p
            uh = a >> 9
            if uh >= 255:
                r = 0x7FFF << 10
            else:
                ua = tab[uh]
                r = (ua << 9) + (a & 0x1FF) * (tab[uh + 1] - ua)
            y[i] = ((r + 512) if p >= 0 else ((1 << 25) - r + 511)) >> 10
    return run
