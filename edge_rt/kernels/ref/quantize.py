# QUANTIZE, pure Python: the readable specification. Params: see compiler/prepare/quantize.py.
#
# float32 -> int8, per element, reproducing the reference's float32 steps exactly:
#   1. q = x / scale in float32. We divide in the host float (double on CPython) and store
#      the quotient in a one-element float32 array, which rounds it to nearest float32. A
#      double quotient rounded to float32 equals the float32 quotient (53 >= 2*24 + 2 bits,
#      so the double rounding is innocuous for division); on a single-precision MicroPython
#      port the division is already float32 and the store is exact.
#   2. r = round(q), halves away from zero, via trunc + exact fraction (no q + 0.5, which
#      would itself round in single precision).
#   3. int32(r): the reference's C cast. Outside [-2**31, 2**31) and for NaN, x86-64's
#      conversion yields INT32_MIN; the tflite_micro oracle is built for x86-64, so we do the same.
#   4. y = clamp(int32 wrap of (r + zero_point), -128, 127) (the reference adds in int32).
# int8 -> int8, int8 -> uint8, uint8 -> int8:
#   y = clamp(mbqm(x - input_zero_point, multiplier, shift) + output_zero_point) to the output
# dtype's range, which depends on x alone: bind tabulates it over the 256 input values
# (quant.mbqm_halves), run() looks values up (index x + 128 for int8, x for uint8).
#
# MicroPython: the int8 form is allocation-free. The float32 form is NOT: every float32 read
# from the input is a boxed (heap) float on MicroPython ports, so invoke() allocates for a
# QUANTIZE from float32 and cannot run under heap_lock() (tests/test_micropython.py runs it
# unlocked). Models whose input is already int8 do not contain this op.
from array import array

from ... import format as F
from ..quant import INT32_MIN, mbqm_halves, wrap32
from .lut import lookup_run, new_table

MODE_FLOAT = 0


def round_to_int32(q):
    """Steps 2-3 above: round half away from zero, then C's float -> int32 cast on x86-64."""
    a = -q if q < 0 else q
    if not a < 2147483648.0:  # NaN, infinities, and beyond int32 (-2**31 itself maps there too)
        return INT32_MIN
    t = int(a)
    if a - t >= 0.5:
        t += 1
    # a float32 at or above 2**23 is an integer, so t + 1 cannot reach 2**31 here
    return -t if q < 0 else t


def bind(op, m, v, arena):
    x, y = v[op.inputs[0]], v[op.outputs[0]]
    n = m.tensors[op.outputs[0]].size()
    if op.params[0] == MODE_FLOAT:
        def run(x=x, y=y, n=n, zo=op.params[1], scale=m.tensors[op.outputs[0]].scale, cell=array("f", [0.0])):
            for i in range(n):
                cell[0] = x[i] / scale
                r = wrap32(round_to_int32(cell[0]) + zo)
                y[i] = -128 if r < -128 else (127 if r > 127 else r)
        return run

    _, zi, zo, mult, shift = op.params
    lo, hi = (0, 255) if m.tensors[op.outputs[0]].dtype == F.DT_UINT8 else (-128, 127)

    def one(q):
        r = mbqm_halves(q - zi, mult & 0xFFFF, mult >> 16, shift) + zo
        return lo if r < lo else (hi if r > hi else r)
    if m.tensors[op.inputs[0]].dtype == F.DT_INT8 and lo < 0:
        return lookup_run(x, new_table(one), y, n)
    base = 0 if m.tensors[op.inputs[0]].dtype == F.DT_UINT8 else -128
    table = array("B" if lo == 0 else "b", bytes(256))
    for i in range(256):
        table[i] = one(i + base)

    def run(x=x, table=table, y=y, n=n, off=-base):
        for i in range(n):
            y[i] = table[x[i] + off]
    return run
