# Tiny shim so device modules run on CPython and MicroPython alike.
# The one place that knows how each interpreter makes typed views over raw memory:
#   CPython:     memoryview(buf)[a:b].cast(code) (any buffer, any dtype).
#   MicroPython: no memoryview.cast. An arena made by new_arena() is an array('b'), so an
#                int8 view into it is a plain memoryview slice (typed, with len/slicing);
#                every other case (other dtypes; bytearray/bytes buffers such as the
#                weight buffer or a model read into RAM) is a uctypes array over the
#                buffer's address: indexing only, no len or slices. Neither allocates when
#                indexed, as long as the values are small ints.
try:
    from micropython import const  # noqa: F401
    MICROPYTHON = True
except ImportError:  # CPython
    MICROPYTHON = False

    def const(x):
        return x

try:
    import numpy  # noqa: F401
    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False

if MICROPYTHON:
    import uctypes
    from array import array

    _UCTYPES = {"b": uctypes.INT8, "B": uctypes.UINT8, "h": uctypes.INT16, "H": uctypes.UINT16,
                "i": uctypes.INT32, "I": uctypes.UINT32, "f": uctypes.FLOAT32, "q": uctypes.INT64}
    _SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "f": 4, "q": 8}

    def new_arena(n):
        """A zeroed n-byte arena: array('b') here, grown in chunks so that no temporary of
        n bytes is needed next to it (MicroPython cannot make a zeroed array in one go)."""
        a = array("b")
        chunk = bytes(min(n, 1024))
        while len(a) < n:
            k = n - len(a)
            a.extend(chunk if k >= len(chunk) else chunk[:k])
        return a

    def typed_view(buf, offset, nbytes, code):
        """A flat view of nbytes at byte offset of buf whose items are of struct code."""
        if code == "b" and isinstance(buf, array):  # only new_arena() makes arrays here
            return memoryview(buf)[offset:offset + nbytes]
        count = nbytes // _SIZES[code]
        return uctypes.struct(uctypes.addressof(buf) + offset,
                              (uctypes.ARRAY | 0, _UCTYPES[code] | count), uctypes.NATIVE)

    def retype(view, nbytes, code):
        """The same nbytes as a view made by typed_view, with items of another struct code
        (e.g. an int32 multiplier tensor read as uint16 halves; native = little-endian)."""
        return uctypes.struct(uctypes.addressof(view),
                              (uctypes.ARRAY | 0, _UCTYPES[code] | (nbytes // _SIZES[code])), uctypes.NATIVE)
else:
    def new_arena(n):
        return bytearray(n)

    def typed_view(buf, offset, nbytes, code):
        return memoryview(buf)[offset:offset + nbytes].cast(code)

    def retype(view, nbytes, code):
        return memoryview(view).cast("B")[:nbytes].cast(code)
