# PRELU, pure Python: the readable specification. Params: see compiler/prepare/prelu.py.
# Per output element with the input x and alpha a broadcast onto it, v = x + input_offset:
#   v >= 0: y = mbqm(v, m1, s1) + output_offset
#   v <  0: y = mbqm(v * (a + alpha_offset), m2, s2) + output_offset
# clamped to [-128, 127]. |v * (a + alpha_offset)| <= 255 * 255 < 2**16, so with shifts up
# to 14 the multipliers' uint16 halves keep mbqm allocation-free (quant.mbqm_halves).
from ..broadcast import run_binary, unpack_params
from ..quant import mbqm_halves


def bind(op, m, v, arena):
    xo, ao, yo, m1, s1, m2, s2 = op.params[:7]
    dims, sa, sb = unpack_params(op.params, 7)
    x, a, y = v[op.inputs[0]], v[op.inputs[1]], v[op.outputs[0]]

    def one(q, al, xo=xo, ao=ao, yo=yo, l1=m1 & 0xFFFF, h1=m1 >> 16, s1=s1,
            l2=m2 & 0xFFFF, h2=m2 >> 16, s2=s2):
        d = q + xo
        if d >= 0:
            r = mbqm_halves(d, l1, h1, s1) + yo
        else:
            r = mbqm_halves(d * (al + ao), l2, h2, s2) + yo
        return -128 if r < -128 else (127 if r > 127 else r)

    def run(dims=dims, sa=sa, sb=sb, x=x, a=a, y=y, one=one):
        run_binary(dims, sa, sb, x, a, y, one)
    return run
