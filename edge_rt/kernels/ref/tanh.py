# TANH, pure Python.
# int8: y = table[x + 128]; the table is TFLite Micro's integer tanh evaluated on all 256
# inputs at pack time (compiler/prepare/tanh.py).
# int16 (reference_integer_ops::Tanh, tanh(x) = 2 sigmoid(2x) - 1 on LOGISTIC's table): per element
#   v = round(x * mult / 2**shift)          (as kernels/ref/logistic.py, same small-int split)
#   a = |v|, uh = a >> 8, ut = a & 255     the 8-bit fraction: the table read at twice the input
#   r = T[uh] * 2**8 + ut * (T[uh + 1] - T[uh])   (0xFFFF * 2**8 once uh >= 255)
#   y = (r - 2**23 + 2**7) >> 8 for v >= 0, else (2**23 + 2**7 - 1 - r) >> 8
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
            uh = a >> 8
            if uh >= 255:
                r = 0xFFFF << 8
            else:
                ua = tab[uh]
                r = (ua << 8) + (a & 0xFF) * (tab[uh + 1] - ua)
            y[i] = ((r - (1 << 23) + 128) if p >= 0 else ((1 << 23) + 127 - r)) >> 8
    return run
