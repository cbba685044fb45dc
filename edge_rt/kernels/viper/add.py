# ADD / SUB, viper (SUB binds with sign -1): kernels/ref/add.py's arithmetic. The two input
# rescalings depend on one int8 value each, so bind tabulates them (v_k for all 256 inputs,
# quant.mbqm_halves, the second already multiplied by the sign); per element the kernel adds
# two table entries and requantizes the sum once (_core.requant); _binary.py walks the
# broadcast plan.
import micropython
from array import array

from ..quant import mbqm_halves
from ._binary import binary_run
from ._core import requant


def state(params, at, sign):
    """(tables, out_multiplier, out_shift) for ADD's 12 params at params[at:]: tables holds
    t1[256], t2[256] (sign applied), then out_offset, lo, hi."""
    off1, off2, left_shift, m1, s1, m2, s2, out_off, mo, so, lo, hi = params[at:at + 12]
    up = 1 << left_shift
    t = [mbqm_halves((q + off1) * up, m1 & 0xFFFF, m1 >> 16, s1) for q in range(-128, 128)]
    t += [sign * mbqm_halves((q + off2) * up, m2 & 0xFFFF, m2 >> 16, s2) for q in range(-128, 128)]
    return array("i", t + [out_off, lo, hi]), array("i", [mo]), array("i", [so])


@micropython.viper
def add_elems(a, ia: int, sa: int, b, ib: int, sb: int, n: int, st, acc, y, yo: int):
    """y[yo + i] = ADD(a[ia + i * sa], b[ib + i * sb]) for i < n (n <= the acc row's length)."""
    ap = ptr8(a)
    bp = ptr8(b)
    tab = st[0]
    tp = ptr16(tab)
    cp = ptr32(acc)
    for i in range(n):
        p = 2 * (((int(ap[ia]) ^ 0x80) - 0x80) + 128)
        q = 2 * (((int(bp[ib]) ^ 0x80) - 0x80) + 384)
        cp[i] = ((((int(tp[p + 1]) ^ 0x8000) - 0x8000) << 16) | int(tp[p])) + \
            ((((int(tp[q + 1]) ^ 0x8000) - 0x8000) << 16) | int(tp[q]))
        ia += sa
        ib += sb
    out_off = (((int(tp[1025]) ^ 0x8000) - 0x8000) << 16) | int(tp[1024])
    lo = (((int(tp[1027]) ^ 0x8000) - 0x8000) << 16) | int(tp[1026])
    hi = (((int(tp[1029]) ^ 0x8000) - 0x8000) << 16) | int(tp[1028])
    requant(acc, n, st[1], st[2], 1, y, yo, out_off, lo, hi)


def bind_add_sub(op, m, v, sign):
    return binary_run(op.params, 12, v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]], add_elems,
                      state(op.params, 0, sign))


def bind(op, m, v, arena):
    return bind_add_sub(op, m, v, 1)
