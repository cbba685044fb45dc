# ADD / SUB, pure Python: the readable specification (SUB binds with sign -1).
# Params: see compiler/prepare/add.py. Per output element, with its broadcast inputs x1, x2:
#   v_k   = mbqm((x_k + offset_k) * 2**left_shift, multiplier_k, shift_k)   (k = 1, 2)
#   y     = clamp(mbqm(v1 + sign * v2, out_multiplier, out_shift) + output_offset, lo, hi)
# Bounds: |x + offset| <= 255, so (x + offset) << 20 < 2**28 and the sum of two values
# scaled by multipliers <= 0.5 stays inside int32, as in the reference. All three
# multipliers are below one (prepare checks it: shifts <= 0), so with the multipliers split
# into uint16 halves at bind every value is a small int (quant.mbqm_halves): no allocation.
from ..broadcast import run_binary, unpack_params
from ..quant import mbqm_halves


def element_fn(params, at, sign):
    """The per-element function of ADD's 12 params at params[at:] (also used by the fused
    CONV_2D_ADD / FULLY_CONNECTED_ADD): f(x1, x2) -> y. State is bound as default arguments
    (MicroPython copies a closure's >5 variables to the heap on every call)."""
    off1, off2, left_shift, m1, s1, m2, s2, out_off, mo, so, lo, hi = params[at:at + 12]

    def one(x1, x2, off1=off1, off2=off2, up=1 << left_shift, m1l=m1 & 0xFFFF, m1h=m1 >> 16, s1=s1,
            m2l=m2 & 0xFFFF, m2h=m2 >> 16, s2=s2, sign=sign, out_off=out_off, mol=mo & 0xFFFF,
            moh=mo >> 16, so=so, lo=lo, hi=hi):
        v1 = mbqm_halves((x1 + off1) * up, m1l, m1h, s1)
        v2 = mbqm_halves((x2 + off2) * up, m2l, m2h, s2)
        r = mbqm_halves(v1 + sign * v2, mol, moh, so) + out_off
        return lo if r < lo else (hi if r > hi else r)
    return one


def bind_add_sub(op, m, v, sign):
    dims, sa, sb = unpack_params(op.params, 12)
    a, b, y = v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]]
    one = element_fn(op.params, 0, sign)

    def run(dims=dims, sa=sa, sb=sb, a=a, b=b, y=y, one=one):
        run_binary(dims, sa, sb, a, b, y, one)
    return run


def bind(op, m, v, arena):
    return bind_add_sub(op, m, v, 1)
