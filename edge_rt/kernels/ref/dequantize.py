# DEQUANTIZE, pure Python: the readable specification. Params: see
# compiler/prepare/dequantize.py.  y = float32(scale * (x - zero_point)).
# The reference multiplies in double and casts to float; the product of the float32 scale
# and a 9-bit integer is exact in double, so storing it into a float32 array (which rounds
# to nearest) is that one rounding. On single-precision MicroPython the float32 multiply
# rounds the same exact product once, with the same result.
#
# The result depends on x alone, so bind computes the 256 float32 values, and run() copies
# each one's two 16-bit halves into the output (viewed as uint16): no float is ever boxed,
# so run() is allocation-free on MicroPython too.
#
# An int16 input (65,536 values: too many for a table on a board) is converted per element:
# scale * (x - zero_point) is exact in double (24 + 17 bits), and the store into the float32
# output rounds it once; on single precision the one float32 multiply rounds the same exact
# product (|x - zero_point| < 2**24 converts exactly). Every float is boxed on MicroPython, so
# this form allocates there (as QUANTIZE from float32 does).
from array import array

from ... import format as F
from ...compat import retype


def bind(op, m, v, arena):
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    ty = m.tensors[op.outputs[0]]
    zp = op.params[0]
    scale = m.tensors[op.inputs[0]].scale
    if m.tensors[op.inputs[0]].dtype == F.DT_INT16:
        def run16(x=x, y=y, n=ty.size(), zp=zp, scale=scale):
            for i in range(n):
                y[i] = scale * (x[i] - zp)
        return run16
    table = array("f", bytes(1024))
    for q in range(-128, 128):
        table[q + 128] = scale * (q - zp)
    halves = retype(table, 1024, "H")

    # table is kept as an argument too: on MicroPython `halves` only holds its address
    def run(x=x, yh=retype(y, ty.nbytes, "H"), halves=halves, table=table, n=ty.size()):
        for i in range(n):
            j = 2 * (x[i] + 128)
            yh[2 * i] = halves[j]
            yh[2 * i + 1] = halves[j + 1]
    return run
