# Vectorized TFLite requantization (double rounding), bit-identical to kernels/quant.py.
import numpy as np

_NUDGE_POS = np.int64(1 << 30)
_NUDGE_NEG = np.int64(1 - (1 << 30))
_LOW31 = np.int64((1 << 31) - 1)


class Requant:
    """Precomputed per-channel constants for out = clamp(mbqm(acc) + offset, lo, hi).

    acc is int64 holding int32 values; mult/shift broadcast along the last axis."""

    def __init__(self, mult, shift, offset, lo, hi):
        shift = np.asarray(shift, np.int64)
        self.mult = np.asarray(mult, np.int64)
        self.left = np.maximum(shift, 0)
        self.any_left = bool(np.any(self.left))
        self.right = np.maximum(-shift, 0)
        self.mask = (np.int64(1) << self.right) - 1
        self.half = self.mask >> 1
        self.offset = int(offset)
        self.lo = int(lo)
        self.hi = int(hi)

    def mbqm(self, acc):
        x = acc
        if self.any_left:
            x = ((x << self.left) + (1 << 31)) % (1 << 32) - (1 << 31)  # int32 wrap, as C
        ab = x * self.mult
        t = ab + np.where(ab >= 0, _NUDGE_POS, _NUDGE_NEG)
        # C division by 2**31 truncates toward zero: floor, then +1 for inexact negatives
        q = (t >> 31) + ((t < 0) & ((t & _LOW31) != 0))
        rem = q & self.mask
        return (q >> self.right) + (rem > self.half + (q < 0))

    def __call__(self, acc, out):
        r = self.mbqm(acc)
        r += self.offset
        np.clip(r, self.lo, self.hi, out=r)
        out[...] = r
