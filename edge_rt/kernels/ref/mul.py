# MUL, pure Python: the readable specification. Params: see compiler/prepare/mul.py.
# Per output element with broadcast inputs x1, x2:
#   y = clamp(mbqm((x1 + offset1) * (x2 + offset2), multiplier, shift) + output_offset, lo, hi)
# |product| <= 255 * 255 < 2**16, so a positive shift of up to 15 cannot overflow int32;
# larger shifts wrap exactly as the reference's int32 arithmetic does (mbqm wraps).
# The multiplier is split into uint16 halves at bind (quant.mbqm_halves): allocation-free
# whenever |product| * 2**max(shift, 0) <= 2**30 - 1, i.e. always for shift <= 14.
from ..broadcast import run_binary, unpack_params
from ..quant import mbqm_halves


def bind(op, m, v, arena):
    off1, off2, out_off, mult, shift, lo, hi = op.params[:7]
    dims, sa, sb = unpack_params(op.params, 7)
    a, b, y = v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]]

    # state as default arguments: no per-call closure copy on MicroPython
    def one(x1, x2, off1=off1, off2=off2, out_off=out_off, ml=mult & 0xFFFF, mh=mult >> 16,
            shift=shift, lo=lo, hi=hi):
        r = mbqm_halves((x1 + off1) * (x2 + off2), ml, mh, shift) + out_off
        return lo if r < lo else (hi if r > hi else r)

    def run(dims=dims, sa=sa, sb=sb, a=a, b=b, y=y, one=one):
        run_binary(dims, sa, sb, a, b, y, one)
    return run
