# MUL, viper: kernels/ref/mul.py's arithmetic: per element (x1 + offset1) * (x2 + offset2)
# (|product| <= 255 * 255), requantized once per chunk (_core.requant); _binary.py walks the
# broadcast plan.
import micropython
from array import array

from ._binary import binary_run
from ._core import requant


@micropython.viper
def mul_elems(a, ia: int, sa: int, b, ib: int, sb: int, n: int, st, acc, y, yo: int):
    """y[yo + i] = MUL(a[ia + i * sa], b[ib + i * sb]) for i < n; st = (params, mult, shift)."""
    ap = ptr8(a)
    bp = ptr8(b)
    pp = ptr16(st[0])
    cp = ptr32(acc)
    off1 = (int(pp[0]) ^ 0x8000) - 0x8000   # the int16 params: offsets, output offset, clamps
    off2 = (int(pp[1]) ^ 0x8000) - 0x8000
    for i in range(n):
        cp[i] = (((int(ap[ia]) ^ 0x80) - 0x80) + off1) * (((int(bp[ib]) ^ 0x80) - 0x80) + off2)
        ia += sa
        ib += sb
    requant(acc, n, st[1], st[2], 1, y, yo, (int(pp[2]) ^ 0x8000) - 0x8000, (int(pp[3]) ^ 0x8000) - 0x8000,
            (int(pp[4]) ^ 0x8000) - 0x8000)


def bind(op, m, v, arena):
    off1, off2, out_off, mult, shift, lo, hi = op.params[:7]
    st = (array("h", [off1, off2, out_off, lo, hi]), array("i", [mult]), array("i", [shift]))
    return binary_run(op.params, 7, v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], mul_elems, st)
