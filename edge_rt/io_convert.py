# float32 <-> int8 conversion at the graph edges (device-safe). The fold_io_quantize pass
# removes a graph's leading QUANTIZE / trailing DEQUANTIZE ops; set_input()/get_output() then
# convert with exactly the reference ops' arithmetic, so the float tensors never take arena
# bytes and no op runs for them:
#   quantize:   y = clamp(int32wrap(round_half_away(float32(x / scale)) + zp), -128, 127),
#               NaN and values beyond int32 giving INT32_MIN first (x86-64's float->int cast,
#               what the tflite_micro oracle does) — see kernels/ref/quantize.py;
#   dequantize: y = float32(scale * (q - zp)), one rounding of an exact product.
from .compat import HAVE_NUMPY

if HAVE_NUMPY:
    import numpy as np


def quantize_np(x, scale, zp, out):
    """float32 array -> int8 values written into the int8 array `out` (same shape)."""
    q = np.divide(x, np.float32(scale), dtype=np.float32)  # the reference divides in float32
    r = q.astype(np.float64)
    a = np.abs(r)
    with np.errstate(invalid="ignore"):
        ok = a < 2.0 ** 31                      # False for NaN, +-inf and beyond int32
    # a has at most 24 significant bits and is below 2**31 where ok: a + 0.5 is exact
    t = np.where(ok, np.copysign(np.floor(np.where(ok, a, 0.0) + 0.5), r), -2.0 ** 31).astype(np.int64)
    t = (t + zp + (1 << 31)) % (1 << 32) - (1 << 31)  # int32 wrap of the zero-point add
    np.copyto(out, np.clip(t, -128, 127), casting="unsafe")


def quantize_py(values, scale, zp, out):
    """Pure-Python form for MicroPython: any float sequence -> out[i] (int8 view)."""
    from array import array

    from .kernels.quant import wrap32
    from .kernels.ref.quantize import round_to_int32
    cell = array("f", [0.0])
    for i in range(len(values)):
        cell[0] = values[i] / scale
        r = wrap32(round_to_int32(cell[0]) + zp)
        out[i] = -128 if r < -128 else (127 if r > 127 else r)


def dequantize_np(q, scale, zp):
    y = q.astype(np.float32)
    y -= np.float32(zp)
    y *= np.float32(scale)
    return y


def dequantize_py(q, scale, zp):
    from array import array
    y = array("f", bytes(4 * len(q)))
    for i in range(len(q)):
        y[i] = scale * (q[i] - zp)
    return y
