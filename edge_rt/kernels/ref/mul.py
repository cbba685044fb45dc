# MUL, pure Python: the readable specification. Params: see compiler/prepare/mul.py.
# Per output element with broadcast inputs x1, x2:
#   y = clamp(mbqm((x1 + offset1) * (x2 + offset2), multiplier, shift) + output_offset, lo, hi)
# |product| <= 255 * 255 < 2**16, so a positive shift of up to 15 cannot overflow int32;
# larger shifts wrap exactly as the reference's int32 arithmetic does (mbqm wraps).
from ..broadcast import run_binary, unpack_params
from ..quant import mbqm


def bind(op, m, v, arena):
    off1, off2, out_off, mult, shift, lo, hi = op.params[:7]
    dims, sa, sb = unpack_params(op.params, 7)
    a, b, y = v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]]

    def one(x1, x2):
        r = mbqm((x1 + off1) * (x2 + off2), mult, shift) + out_off
        return lo if r < lo else (hi if r > hi else r)

    def run():
        run_binary(dims, sa, sb, a, b, y, one)
    return run
