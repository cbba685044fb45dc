# DEQUANTIZE, pure Python: the readable specification. Params: see
# compiler/prepare/dequantize.py.  y = float32(scale * (x - zero_point)).
# The reference multiplies in double and casts to float; the product of the float32 scale
# and a 9-bit integer is exact in double, so storing it into the float32 view (which rounds
# to nearest) is that one rounding. On single-precision MicroPython the float32 multiply
# rounds the same exact product once, with the same result.
def bind(op, m, v, arena):
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    n = len(y)
    zp = op.params[0]
    scale = m.tensors[op.inputs[0]].scale

    def run():
        for i in range(n):
            y[i] = scale * (x[i] - zp)
    return run
