# int16 LOGISTIC and TANH (reference_integer_ops::Logistic / Tanh), pure Python: the table
# interpolation shared by ref logistic.py, tanh.py and unidirectional_sequence_lstm.py (the LSTM's
# gates). T is the op's 256-entry uint16 sigmoid table (compiler/sigmoid16.py); TANH, as
# tanh(x) = 2 sigmoid(2x) - 1, reads it at twice the input. With v the input on that grid:
#   LOGISTIC: a = |v|, uh = a >> 9, ut = a & 511 (a 9-bit interpolation fraction)
#     r = T[uh] * 2**9 + ut * (T[uh + 1] - T[uh])   (0x7FFF * 2**10 once uh >= 255)
#     y = (r + 2**9) >> 10 for v >= 0, else (2**25 - r + 2**9 - 1) >> 10   (1 - sigmoid(|v|))
#   TANH: uh = a >> 8, ut = a & 255, r = T[uh] * 2**8 + ut * (T[uh + 1] - T[uh])
#     (0xFFFF * 2**8 once uh >= 255); y = (r - 2**23 + 2**7) >> 8 for v >= 0,
#     else (2**23 + 2**7 - 1 - r) >> 8
# The ops first put their input on the grid: v = round(x * mult / 2**shift) (rescale). Small ints
# (32-bit MicroPython): |x * mult| < 2**30 (mult <= 32767), but adding the rounding half
# 2**(shift-1) can pass 2**30, so for shift >= 2 the product is halved first:
# (p + 2**(s-1)) >> s == ((p >> 1) + 2**(s-2)) >> (s-1), exact for floor shifts.
# Every value is a small int and the helpers take few locals (their call state stays on the C
# stack): invoke allocates nothing.


def rescale(x, mult, shift):
    """round(x * mult / 2**shift), half up (shift >= 0), without leaving the small ints."""
    p = x * mult
    if shift >= 2:
        return ((p >> 1) + (1 << (shift - 2))) >> (shift - 1)
    if shift == 1:
        return (p + 1) >> 1
    return p


def sigmoid16(v, tab):
    """Logistic of v on the table's grid (Q3.12 x 3) as Q0.15."""
    a = -v if v < 0 else v
    uh = a >> 9
    if uh >= 255:
        r = 0x7FFF << 10
    else:
        ua = tab[uh]
        r = (ua << 9) + (a & 0x1FF) * (tab[uh + 1] - ua)
    return ((r + 512) if v >= 0 else ((1 << 25) - r + 511)) >> 10


def tanh16(v, tab):
    """Tanh of v on the table's grid (Q3.12 x 3) as Q0.15."""
    a = -v if v < 0 else v
    uh = a >> 8
    if uh >= 255:
        r = 0xFFFF << 8
    else:
        ua = tab[uh]
        r = (ua << 8) + (a & 0xFF) * (tab[uh + 1] - ua)
    return ((r - (1 << 23) + 128) if v >= 0 else ((1 << 23) + 127 - r)) >> 8


def bind16(op, m, v, fn):
    """run() of int16 LOGISTIC (fn = sigmoid16) or TANH (tanh16): inputs x and the table, params
    (mult, shift) of the rescale (compiler/prepare/logistic.py, tanh.py)."""
    mult, shift = op.params
    k = (v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], m.tensors[op.outputs[0]].size(), mult, shift,
         (1 << (shift - 2)) if shift >= 2 else 0, fn)

    def run(k=k):
        x, tab, y, n, mult, shift, half, fn = k
        s1 = shift - 1
        for i in range(n):
            p = x[i] * mult  # rescale, inlined
            if shift >= 2:
                p = ((p >> 1) + half) >> s1
            elif shift == 1:
                p = (p + 1) >> 1
            y[i] = fn(p, tab)
    return run
