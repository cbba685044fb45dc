# float32 <-> int8 conversion at the graph edges (device-safe). The fold_io_quantize pass
# removes a graph's leading QUANTIZE / trailing DEQUANTIZE ops; set_input()/get_output() then
# convert with exactly the reference ops' arithmetic, so the float tensors never take arena
# bytes and no op runs for them:
#   quantize:   y = clamp(int32wrap(round_half_away(float32(x / scale)) + zp), -128, 127),
#               NaN and values beyond int32 giving INT32_MIN first (x86-64's float->int cast,
#               what the tflite_micro oracle does) — see kernels/ref/quantize.py;
#   dequantize: y = float32(scale * (q - zp)), one rounding of an exact product.
# uint8 <-> int8 likewise (camera images in, probabilities out): a leading uint8 -> int8 or a
# trailing int8 -> uint8 QUANTIZE is TFLite Micro's Requantize, a function of one 8-bit value,
# so set_input/get_output map every value through a 256-entry table (requant_table), and the
# uint8 tensor takes no arena bytes.
from .compat import HAVE_NUMPY
from .errors import InputError

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


def requant_table(from_uint8, zi, zo, mult, shift):
    """t[b] = clamp(mbqm(x - zi, mult, shift) + zo) for the value x whose bit pattern is b, to
    the range of the other dtype (uint8 -> int8, or int8 -> uint8): the reference QUANTIZE."""
    from .kernels.quant import mbqm
    lo, hi = (-128, 127) if from_uint8 else (0, 255)
    t = []
    for b in range(256):
        x = b if from_uint8 or b < 128 else b - 256
        r = mbqm(x - zi, mult, shift) + zo
        t.append(lo if r < lo else (hi if r > hi else r))
    return t


def map_bytes(src, table, out):
    """out[i] = table[src[i] & 255] for 8-bit sequences (bytes, int8/uint8 views)."""
    for i in range(len(src)):
        out[i] = table[src[i] & 255]


def _table(it, what, i, conv):
    """The 256-entry map of interpreter it's uint8 edge (what, i), made once per interpreter."""
    key = (what, i)
    tables = it._tables
    if key not in tables:
        inp = what == "inputs"
        t = requant_table(inp, conv[5] if inp else conv[1], conv[1] if inp else conv[5], conv[6], conv[7])
        tables[key] = np.array(t, np.int8 if inp else np.uint8) if HAVE_NUMPY else t
    return tables[key]


def set_converted(it, i, t, data, conv, where):
    """Interpreter.set_input for a folded edge: float32 (or uint8) data -> int8 arena tensor t."""
    arena = it._arena
    if len(conv) > 3:  # uint8 -> int8 through the edge's table
        table = _table(it, "inputs", i, conv)
        if HAVE_NUMPY and isinstance(data, np.ndarray):
            if data.dtype != np.uint8 or tuple(data.shape) != tuple(t.shape):
                raise InputError("%s: %s %s given, expected uint8 %s" % (where, data.dtype, tuple(data.shape),
                                                                         tuple(t.shape)))
            np.take(table, data, out=np.frombuffer(arena, np.int8, t.size(), t.offset).reshape(t.shape))
            return
        try:
            src = bytes(data)
        except TypeError:
            raise InputError("%s: expected uint8 data (numpy array or bytes), got %s" % (where, type(data).__name__))
        if len(src) != t.size():
            raise InputError("%s: %d bytes given, expected %d (uint8 %s)" % (where, len(src), t.size(), t.shape))
        map_bytes(src, table, it._views[it.model.inputs[i]])
        return
    if HAVE_NUMPY and isinstance(data, np.ndarray):
        if data.dtype != np.float32:
            raise InputError("%s: dtype %s given, expected float32" % (where, data.dtype))
        if tuple(data.shape) != tuple(t.shape):
            raise InputError("%s: shape %s given, expected %s" % (where, tuple(data.shape), tuple(t.shape)))
        quantize_np(data, conv[0], conv[1], np.frombuffer(arena, np.int8, t.size(), t.offset).reshape(t.shape))
        return
    from array import array
    try:
        vals = array("f", bytes(data))
    except (TypeError, ValueError):
        raise InputError("%s: expected float32 data (numpy array or raw bytes), got %s" % (
            where, type(data).__name__))
    if len(vals) != t.size():
        raise InputError("%s: %d float32 values given, expected %d %s" % (where, len(vals), t.size(), t.shape))
    quantize_py(vals, conv[0], conv[1], it._views[it.model.inputs[i]])


def get_converted(it, i, t, raw, conv):
    """Interpreter.get_output for a folded edge: the int8 bytes raw -> float32 (or uint8)."""
    if len(conv) > 3:
        table = _table(it, "outputs", i, conv)
        if HAVE_NUMPY:
            return table[np.frombuffer(raw, np.uint8)].reshape(t.shape)
        map_bytes(raw, table, raw)
        return raw
    if HAVE_NUMPY:
        return dequantize_np(np.frombuffer(raw, np.int8).reshape(t.shape), conv[0], conv[1])
    from array import array
    return dequantize_py(array("b", raw), conv[0], conv[1])
