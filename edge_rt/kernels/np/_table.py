# Unary int8 -> int8 ops as one 256-entry table lookup (table indexed by the input's uint8
# bit pattern). np.take needs intp indices, so each band's bytes are widened into int64
# arena scratch first: two numpy calls per band, no allocation.
import numpy as np

from .requant import setitem

BAND = 4096  # elements per band: the index scratch is BAND * 8 bytes


def scratch_bytes(n):
    return min(n, BAND) * 8


def bind_table(x, y, table, arena, offset):
    """Closure computing y = table[x_u8] elementwise (x and y 8-bit, of the same size; the table
    has y's dtype)."""
    xu = x.reshape(-1).view(np.uint8)
    yf = y.reshape(-1)
    n = xu.size
    band = min(n, BAND)
    idx = np.frombuffer(arena, np.int64, band, offset) if n else None
    table = np.ascontiguousarray(table, y.dtype)
    steps = [(idx[:min(band, n - i)], xu[i:i + band], yf[i:i + band]) for i in range(0, n, band)]
    take = table.take  # the bound method: np.take's wrapper costs time and freelist churn

    def run():
        for ib, src, dst in steps:
            setitem(ib, Ellipsis, src)
            take(ib, out=dst, mode="clip")
    return run


def rotated(table):
    """A table indexed by x + 128 (as the pack-time tables are) re-indexed by x's uint8 bits."""
    return np.roll(np.asarray(table, np.int8).reshape(-1), 128)
