# Float64 requantization of an integer-valued float accumulator ("F64 plan"), bit-identical
# to kernels/quant.py mbqm + offset + clamp, in 5 numpy calls (7 with the sign term) and no
# integer casts.
#
# Derivation. For a channel with multiplier M > 0, left shift L = max(shift, 0) and right
# shift e = max(-shift, 0), S = 31 + e, requant.py shows
#   r = floor(z),  z = x*m + 1/2 + [e>0] * (2**-(e+1) - 2**-e * [x < 0]),  m = M * 2**L / 2**S
# for the int32 value x = acc + bias. z is a multiple of 2**-S, so floor(z) is the nearest
# integer to z - 1/2 + 2**-(S+1) (never a tie), and float64 rounds to the nearest integer
# when MAGIC = 1.5 * 2**52 is added: the low byte of the sum's bit pattern is then that
# integer mod 256, i.e. the int8 result. With b = bias*m + 2**-(S+1):
#   no sign term:  t = acc*m + (b + [e>0] 2**-(e+1)),                 y = round(t) + off
#   sign term:     t = acc*m + b; t += copysign(2**-(e+1), t),         y = round(t) + off
# (t before the copysign has the sign of x: b is below m, so x >= 0 <=> acc*m + b > 0), then
# clip to [MAGIC + lo, MAGIC + hi] (the clamp) and copy the low bytes. The sign term is
# needed when a negative x can map above lo; without it the plan is 2 calls shorter.
#
# Exactness is not argued from error bounds but checked at pack time, exhaustively in
# effect: every step (float multiply and add of a constant, copysign-add, clip, rounding)
# is non-decreasing in acc, and so is the exact function; two non-decreasing step functions
# on the accumulator's domain [-A, A] agree everywhere iff they agree at the domain's ends
# and on both sides of each exact threshold (the first x reaching each output level). So
# verify() runs the very steps the kernel runs on exactly those points, per channel; when
# it fails (huge accumulators, extreme multipliers) the packer keeps the integer plan.
import sys

import numpy as np

from ._mbqm import exact_mbqm, first_at_least

MAGIC = 1.5 * 2.0 ** 52
LOW_BYTE = 0 if sys.byteorder == "little" else 7
_CORE = getattr(np, "_core", None) or getattr(np, "core", None)  # numpy 2 / 1.x
CLIP = getattr(getattr(_CORE, "umath", None), "clip", None)  # the ufunc (np.clip is a wrapper);
# one call with 0-d bounds (requant.clamp_steps also uses it)
setitem = np.ndarray.__setitem__


def constants(mult, shift, bias, mask):
    """(m, b, h) per channel as float64 vectors: the multiplier, the constant added after
    the product, and the sign term's half-step (zeros without the sign term, which is then
    folded into b)."""
    mult = np.asarray(mult, np.int64).reshape(-1)
    shift = np.asarray(shift, np.int64).reshape(-1)
    left = np.maximum(shift, 0)
    e = np.maximum(-shift, 0)
    s = 31 + e
    m = np.ldexp((mult << left).astype(np.float64), -s)  # exact: M * 2**L < 2**53
    b = np.asarray(bias, np.float64).reshape(-1) * m + np.ldexp(1.0, -(s + 1))
    half = np.where(e > 0, np.ldexp(1.0, -(e + 1)), 0.0)
    if mask:
        return m, b, half
    return m, b + half, np.zeros_like(m)


def steps(acc, t, u, y, m, b, h, offset, lo, hi, alt=None):
    """Steps computing y (int8, (r, n)) from the accumulator acc ((r, n), float32 or
    float64, exact integers, bias not added). t: float64 (r, n) work buffer, disjoint from
    acc; u: float64 (r, n) for the sign term (may share acc's bytes: acc is dead by then),
    or None without it. m, b, h: constants tiled to (r, n) (or 0-d). alt: a float64 buffer
    like t, disjoint from t, u and acc, needed when r * n == 1 (numpy serves a one-element
    in-place ufunc through a temporary, so there every step writes the other buffer)."""
    one = t.size == 1
    out = []
    if acc.dtype == np.float64:
        out.append((np.multiply, (acc, m, alt if one else t)))
    else:
        out += [(setitem, (t, Ellipsis, acc)), (np.multiply, (t, m, alt if one else t))]
    out.append((np.add, (alt if one else t, b, t)))
    return out + tail_steps(t, u, y, h, offset, lo, hi, alt)


def tail_steps(t, u, y, h, offset, lo, hi, alt=None):
    """The steps after t = acc*m + b: the sign term (when u is given), rounding, clamp and
    the int8 result (alt: as in steps(), for one element)."""
    one = t.size == 1
    cur, nxt = t, (alt if one else t)
    out = []
    if u is not None:
        out += [(np.copysign, (h, cur, u)), (np.add, (cur, u, nxt))]
        cur, nxt = nxt, cur
    out.append((np.add, (cur, np.array(MAGIC + offset), nxt)))
    cur, nxt = nxt, cur
    out.append((CLIP, (cur, np.array(MAGIC + lo), np.array(MAGIC + hi), nxt)))
    out.append((setitem, (y, Ellipsis, low_bytes(nxt))))
    return out


def low_bytes(t):
    """The int8 view of the low byte of each float64 of t (same shape)."""
    return t.view(np.int8).reshape(t.shape + (8,))[..., LOW_BYTE]


def verify(mult, shift, offset, lo, hi, bias, amax, acc_dtype, mask):
    """(m, b, h) when the F64 steps equal clamp(offset + mbqm(acc + bias)) for every
    accumulator acc in [-amax, amax] of every channel (see the top of the file), else None."""
    if CLIP is None:
        return None
    n = len(amax)
    mult = np.asarray(mult, np.int64).reshape(-1)
    shift = np.asarray(shift, np.int64).reshape(-1)
    if mult.size == 1:
        mult, shift = np.repeat(mult, n), np.repeat(shift, n)
    if (mult <= 0).any() or (shift > 20).any():
        return None
    bias = np.asarray(bias, np.int64).reshape(-1)
    amax = np.asarray(amax, np.int64).reshape(-1)
    levels = list(range(lo + 1, hi + 1))
    firsts = first_at_least(mult.tolist(), shift.tolist(), offset, levels)  # exact thresholds of x
    pts = [-amax, amax]
    for row in firsts:
        th = np.array([np.iinfo(np.int64).max if v is None else v for v in row], np.int64) - bias
        pts += [np.clip(th - 1, -amax, amax), np.clip(th, -amax, amax)]
    acc_i = np.stack(pts)  # (P, n) accumulator values, inside the domain
    x = acc_i + bias
    if (np.abs(x) >= 1 << 31).any():
        return None
    want = np.clip(exact_mbqm(x, mult, shift) + offset, lo, hi).astype(np.int8)
    acc = acc_i.astype(acc_dtype)
    if not (acc.astype(np.int64) == acc_i).all():
        return None
    m, b, h = constants(mult, shift, bias, mask)
    r = acc.shape[0]
    t = np.empty((r, n))
    u = np.empty((r, n)) if mask else None
    got = np.empty((r, n), np.int8)
    tiles = [np.ascontiguousarray(np.broadcast_to(c, (r, n))) for c in (m, b, h)]
    for fn, args in steps(acc, t, u, got, tiles[0], tiles[1], tiles[2], offset, lo, hi):
        fn(*args)
    if not (got == want).all():
        return None
    return m, b, h
