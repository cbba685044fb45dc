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
#   4. y = clamp(int32 wrap of (r + zero_point)) to the output's range (int8 or int16; the
#      reference adds in int32).
# int8 -> int8, int8 -> uint8, uint8 -> int8, int8 -> int16, int16 -> int8, int16 -> int16:
#   y = clamp(mbqm(x - input_zero_point, multiplier, shift) + output_zero_point) to the output
# dtype's range. From an 8-bit input it depends on 256 values: bind tabulates it
# (quant.mbqm_halves), run() looks values up (index x + 128 for int8, x for uint8). An int16
# input (65,536 values: a table would not fit a board's heap) is computed per element.
#
# MicroPython: the 8-bit-input forms are allocation-free; the int16-input form is too while
# |x - zero_point| * 2**max(shift, 0) <= 2**30 - 1 (quant.mbqm_halves), else exact but
# allocating. The float32 form is NOT: every float32 read from the input is a boxed (heap)
# float on MicroPython ports, so invoke() allocates for a QUANTIZE from float32 and cannot run
# under heap_lock() (tests/test_micropython.py runs it unlocked). Models whose input is already
# int8 do not contain this op.
from array import array

from ... import format as F
from ..quant import INT32_MIN, mbqm_halves, wrap32
from .lut import lookup_run, new_table

MODE_FLOAT = 0
RANGES = {F.DT_INT8: (-128, 127), F.DT_UINT8: (0, 255), F.DT_INT16: (-32768, 32767)}


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
    tdy = m.tensors[op.outputs[0]].dtype
    lo, hi = RANGES[tdy]
    if op.params[0] == MODE_FLOAT:
        def run(x=x, y=y, n=n, zo=op.params[1], scale=m.tensors[op.outputs[0]].scale, cell=array("f", [0.0]),
                lo=lo, hi=hi):
            for i in range(n):
                cell[0] = x[i] / scale
                r = wrap32(round_to_int32(cell[0]) + zo)
                y[i] = lo if r < lo else (hi if r > hi else r)
        return run

    _, zi, zo, mult, shift = op.params

    def one(q):
        r = mbqm_halves(q - zi, mult & 0xFFFF, mult >> 16, shift) + zo
        return lo if r < lo else (hi if r > hi else r)
    tdx = m.tensors[op.inputs[0]].dtype
    if tdx == F.DT_INT16:
        def run16(x=x, y=y, n=n, zi=zi, zo=zo, ml=mult & 0xFFFF, mh=mult >> 16, shift=shift, lo=lo, hi=hi):
            for i in range(n):
                r = mbqm_halves(x[i] - zi, ml, mh, shift) + zo
                y[i] = lo if r < lo else (hi if r > hi else r)
        return run16
    if tdx == F.DT_INT8 and tdy == F.DT_INT8:
        return lookup_run(x, new_table(one), y, n)
    if tdx == F.DT_INT8:  # int8 -> uint8 / int16: a table of the output's type, indexed by x + 128
        table = array("B" if tdy == F.DT_UINT8 else "h", bytes(256 * F.DTYPE_SIZES[tdy]))
        for q in range(-128, 128):
            table[q + 128] = one(q)

        def run_table(x=x, table=table, y=y, n=n):
            for i in range(n):
                y[i] = table[x[i] + 128]
        return run_table
    table = array("b", bytes(256))  # uint8 -> int8
    for i in range(256):
        table[i] = one(i)

    def run(x=x, table=table, y=y, n=n):
        for i in range(n):
            y[i] = table[x[i]]
    return run
