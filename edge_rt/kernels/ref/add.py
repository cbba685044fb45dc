# ADD / SUB, pure Python: the readable specification (SUB binds with sign -1).
# Params: see compiler/prepare/add.py. Per output element, with its broadcast inputs x1, x2:
#   v_k   = mbqm((x_k + offset_k) * 2**left_shift, multiplier_k, shift_k)   (k = 1, 2)
#   y     = clamp(mbqm(v1 + sign * v2, out_multiplier, out_shift) + output_offset, lo, hi)
# Bounds: |x + offset| <= 255, so (x + offset) << 20 < 2**28 and the sum of two values
# scaled by multipliers <= 0.5 stays inside int32, as in the reference.
from ..broadcast import run_binary, unpack_params
from ..quant import mbqm


def bind_add_sub(op, m, v, sign):
    off1, off2, left_shift, m1, s1, m2, s2, out_off, mo, so, lo, hi = op.params[:12]
    dims, sa, sb = unpack_params(op.params, 12)
    a, b, y = v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]]
    up = 1 << left_shift

    def one(x1, x2):
        v1 = mbqm((x1 + off1) * up, m1, s1)
        v2 = mbqm((x2 + off2) * up, m2, s2)
        r = mbqm(v1 + sign * v2, mo, so) + out_off
        return lo if r < lo else (hi if r > hi else r)

    def run():
        run_binary(dims, sa, sb, a, b, y, one)
    return run


def bind(op, m, v, arena):
    return bind_add_sub(op, m, v, 1)
