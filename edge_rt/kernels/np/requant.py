# Vectorized TFLite requantization (double rounding), bit-identical to kernels/quant.py mbqm,
# built as a list of allocation-free numpy steps over planned buffers.
#
# For a channel with multiplier M > 0 and right shift e >= 0 (shift = -e), TFLite computes
#   q = SaturatingRoundingDoublingHighMul(x, M) = floor((x*M + 2**30) / 2**31)
#   r = RoundingDivideByPOT(q, e)               = floor((q + 2**(e-1) - [q < 0]) / 2**e)
# (the nudge-and-truncate of SRDHM equals this floor for every int64 product, and M > 0
# makes the saturating case unreachable). Nested floors by powers of two merge, and
# [q < 0] may be replaced by [x < 0] (they differ only when q == 0, where the e-rounding
# of 0 and of -1 + 2**(e-1) both give 0). So, with S = 31 + e and e >= 1,
#   r + off = (x*M + K - 2**31*[x < 0]) >> S,  K = 2**30 + 2**(30+e) + off * 2**S,
# and for e == 0 the sign term vanishes. For x in int32 range, x & -2**31 is exactly
# -2**31*[x < 0], so the whole requantization is: and, multiply, add, add, shift.
# Clamping: for right shifts (multiplier below 1) r moves in unit steps as x grows, so
# clamp(r, lo, hi) == r(clamp(x, xlo, xhi)) with xlo/xhi the first/last x mapping inside
# [lo, hi] (found by bisection on the scalar reference at bind time); the clamp then runs
# on the float accumulator (cheap) and bounds x*M, which is checked against int64 overflow.
# Left shifts (multiplier >= 1) take the general path: int32 wrap when it could matter,
# clamp after the shift.
#
# numpy only avoids allocating when every operand has the result's exact shape and is
# contiguous (or is a 0-d scalar): broadcasting a per-channel vector makes the ufunc buffer
# it. Per-channel constants are therefore tiled to the band shape once at bind time
# (constants, so kept outside the arena); channel-uniform constants become 0-d arrays (not
# numpy scalars: a ufunc converts a scalar operand to an array on every call, which costs
# ~0.5 us and a transient allocation; a 0-d array is used as is).
import numpy as np

from . import requant_f64
from ._mbqm import I32_MIN as _I32_MIN, exact_mbqm, first_at_least

SMALL = 4096  # below this many elements a uniform constant is tiled too (faster than a 0-d)
# ndarray item assignment is numpy's cheapest casting copy (unsafe casting, no allocation)
setitem = np.ndarray.__setitem__

_F32_EXACT = 1 << 24   # integers up to 2**24 are exact in float32
_F64_EXACT = 1 << 53

# Plan constants as one int64 vector: a header, then per-channel rows (see plan_constants).
HEADER = 4      # accumulator code, mode, has_mask, wrap
ROWS = 6        # xlo, xhi, left, mult, k, s (FAST, GENERAL); m, b, h, 0, 0, 0 (F64)
GENERAL, FAST, F64 = 0, 1, 2  # modes
_ACCS = (np.float32, np.float64, np.int64)


def plan_constants(mult, shift, offset, lo, hi, n, xmax=None, acc=np.float32, bias=None, amax=None):
    """The constants of Plan(mult, shift, offset, lo, hi, n, xmax, acc) as one int64 vector
    [acc code, mode, has_mask, wrap] + rows (xlo, xhi, left, mult, k, s), each of length n.
    With bias and amax (the bound on |accumulator| per channel, bias not included) and a
    float accumulator, the float64 plan of requant_f64.py is tried first (mode F64, bias
    folded in; rows m, b, h as float64 bit patterns); else mode FAST or GENERAL below.
    Exact Python-int arithmetic with bisections per channel: slow, so the packer computes it
    once for the numpy kernel set (an extra constant input of the op) and bind only reads it;
    every value fits int64 (the fast path checks |x*mult| + |k| < 2**62)."""
    mult = [int(v) for v in np.asarray(mult).reshape(-1)]
    shift = [int(v) for v in np.asarray(shift).reshape(-1)]
    if len(mult) == 1:
        mult, shift = mult * n, shift * n
    if xmax is None:
        xmax = [(1 << 31) - 1] * n
    xmax = [int(v) for v in xmax]
    offset, lo, hi = int(offset), int(lo), int(hi)
    acc = np.dtype(acc)
    if bias is not None and acc.kind == "f":
        for mask in (False, True):
            f64 = requant_f64.verify(mult, shift, offset, lo, hi, bias, amax, acc, mask)
            if f64 is not None:
                rows = np.concatenate([np.stack(f64).view(np.int64).reshape(-1), np.zeros(3 * n, np.int64)])
                return np.concatenate([np.array([_ACCS.index(acc.type), F64, int(mask), 0], np.int64), rows])
    exact = _F32_EXACT if acc == np.float32 else _F64_EXACT
    fast = None
    if acc.kind == "f" and all(s <= 0 and m >= 0 for m, s in zip(mult, shift)):
        fast = _plan_fast(mult, shift, offset, lo, hi, xmax, exact)
    if fast is not None:
        has_mask, wrap, rows = fast
    else:
        has_mask, wrap, rows = _plan_general(mult, shift, xmax)
    head = [_ACCS.index(acc.type), int(fast is not None), int(has_mask), int(wrap)]
    return np.array(head + [v for r in rows for v in r], np.int64)


def _plan_fast(mult, shift, offset, lo, hi, xmax, exact):
    """(has_mask, wrap, rows) of the clamp-first path, or None when it does not apply."""
    xlo, xhi, chans = [], [], []
    firsts = first_at_least(mult, shift, offset, [lo, hi + 1])
    r0 = exact_mbqm(np.zeros(len(mult), np.int64), mult, shift) + offset
    for c, (m, s, xm) in enumerate(zip(mult, shift, xmax)):
        a, b = firsts[0][c], firsts[1][c]
        b = (1 << 31) - 1 if b is None else b - 1
        if a is None or a > b:
            return None
        if r0[c] == lo:  # x < 0 all map to lo as 0 does: clamp them to 0
            a = max(a, 0)
        bound = min(xm, exact)
        a, b = max(a, -bound), min(b, bound)
        if a > b:  # no reachable x maps inside [lo, hi]: let the general path clamp
            return None
        xlo.append(a)
        xhi.append(b)
        chans.append((m, -s, max(abs(a), abs(b))))
    # Without negative x (the common fused-ReLU case, output zero point == act_min) the
    # sign term vanishes, and all channels can share the largest shift S: scaling a
    # channel's numerator and denominator by 2**d leaves the floor unchanged.
    has_mask = any(a < 0 for a in xlo) and any(e > 0 for _, e, _ in chans)
    top = max(31 + e for _, e, _ in chans)
    mults, ks, ss = [], [], []
    for m, e, xm in chans:
        big_s = 31 + e
        d = 0 if has_mask else top - big_s
        k = ((1 << 30) + ((1 << (30 + e)) if e > 0 else 0)) << d
        k += offset << (big_s + d)
        if xm * (m << d) + abs(k) + (1 << 31) >= 1 << 62:
            return None
        mults.append(m << d)
        ks.append(k)
        ss.append(big_s + d)
    return has_mask, False, [xlo, xhi, [0] * len(xlo), mults, ks, ss]


def _plan_general(mult, shift, xmax):
    wrap = False
    mults, ks, ss, lefts = [], [], [], []
    for m, s, xm in zip(mult, shift, xmax):
        left, e = max(s, 0), max(-s, 0)
        if m < 0 or (left and (xm << left) >= 1 << 31):
            wrap = True
        mults.append(m)
        lefts.append(left)
        ks.append((1 << 30) + ((1 << (30 + e)) if e > 0 else 0))
        ss.append(31 + e)
    if any(m < 0 for m in mult):
        raise ValueError("negative requantization multiplier")
    wrap = wrap and any(lefts)
    if not wrap:  # x << left stays in int32: fold it into the multiplier
        mults = [m << left for m, left in zip(mults, lefts)]
    zeros = [0] * len(mults)
    return any(s > 31 for s in ss), wrap, [zeros, zeros, lefts, mults, ks, ss]


def as_int64(packed):
    """A plan_constants vector as int64; the file stores it as int32 pairs (the format has
    no int64 dtype), viewed here without a copy (constants are 16-byte aligned)."""
    packed = np.asarray(packed).reshape(-1)
    return packed if packed.dtype == np.int64 else packed.view(np.int64)


def packed_acc(packed):
    """The accumulator dtype a plan_constants vector was made for."""
    return _ACCS[int(as_int64(packed)[0])]


class Plan:
    """Constants for y = clamp(mbqm(x) + offset, lo, hi) per channel (the last axis).

    mult/shift: per channel (length n) or one value; xmax: per-channel bound on |x| (the
    int32 value being requantized) or None for 'any int32'; acc: the accumulator dtype the
    steps start from (np.float32 / np.float64 holding exact integers, or np.int64);
    rows: the largest band (rows, n) the steps will be built for. packed: the
    plan_constants() vector of these arguments, precomputed by the packer (then mult, shift,
    xmax and acc are not read)."""

    def __init__(self, mult, shift, offset, lo, hi, n, xmax=None, acc=np.float32, rows=1, packed=None):
        if packed is None:
            packed = plan_constants(mult, shift, offset, lo, hi, n, xmax, acc)
        packed = as_int64(packed)
        if packed.shape != (HEADER + ROWS * n,):
            raise ValueError("requantization constants hold %d values, expected %d for %d channels"
                             % (packed.size, HEADER + ROWS * n, n))
        self.n, self.rows, self.acc = n, rows, np.dtype(packed_acc(packed))
        self.lo, self.hi, self.offset = int(lo), int(hi), int(offset)
        mode = int(packed[1])
        self.f64 = mode == F64
        self.fast = mode == FAST
        self.has_mask, self.wrap = (bool(v) for v in packed[2:HEADER].tolist())
        vecs = packed[HEADER:].reshape(ROWS, n)
        if self.f64:
            self.m, self.b, self.h = self._tiles(vecs[0:3].view(np.float64), np.float64)
            return
        if self.fast:
            self.xlo, self.xhi = self._tiles(vecs[0:2], self.acc.type)
            mult, k, s = self._tiles(vecs[3:6], np.int64)
        else:
            self.left, mult, k, s = self._tiles(vecs[2:6], np.int64)
        self.mult, self.k, self.s = mult, k, s
        # the sign term's mask: -2**31 where the channel shifts right (S > 31 when it is used:
        # has_mask implies no shared-shift scaling), else 0
        self.mask = self._tiles(np.where(vecs[5:6] > 31, _I32_MIN, 0), np.int64)[0] if self.has_mask else None

    # -- constant shaping --------------------------------------------------------------
    def _tiles(self, vecs, dtype):
        """Rows of vecs (k, n) as constants: a 0-d array for a row whose channels agree on a
        large band, else a (rows, n) tile; all tiles made by one copy."""
        dtype = np.dtype(dtype)
        k = vecs.shape[0]
        if self.rows * self.n > SMALL or self.n == 1:
            uni = (vecs == vecs[:, :1]).all(axis=1).tolist()
        else:
            uni = [False] * k
        out = [np.array(vecs[i, 0], dtype) if u else None for i, u in enumerate(uni)]
        tiled = [i for i, u in enumerate(uni) if not u]
        if tiled:
            t = np.empty((len(tiled), self.rows, self.n), dtype)
            setitem(t, Ellipsis, (vecs[tiled] if len(tiled) < k else vecs)[:, None, :])
            for j, i in enumerate(tiled):
                out[i] = t[j]
        return out

    # -- steps ---------------------------------------------------------------------------
    def steps(self, f, t, s, y, bias=None, spare=None):
        """[(fn, args)] computing y = clamp(mbqm(f [+ bias]) + offset, lo, hi), all in place.

        f: accumulator (r, n) of dtype acc, r <= rows (overwritten); t, s: int64 (r, n)
        scratch (for an int64 accumulator, t may be f); y: int8 (r, n) output view; bias:
        a Plan.tile() of the accumulator dtype added first, or None. spare: optional bytes
        (uint8, at least 8 * r * n, 8-aligned) disjoint from f, t, s: with it a one-element
        fast-path band runs without in-place ufuncs, which numpy treats as overlapping and
        serves through a temporary copy (~3x slower, and it allocates)."""
        r = f.shape[0]

        def cut(c):
            return c if c.ndim == 0 else c[:r]
        if self.f64:  # the bias is folded into the constants
            ft = t.view(np.float64)
            u = s.view(np.float64) if self.has_mask else None
            alt = None
            if f.size == 1:
                if spare is None or f is t:
                    raise ValueError("a one-element float64 requantization needs a spare buffer")
                alt = spare[:8].view(np.float64).reshape(ft.shape)
            return requant_f64.steps(f, ft, u, y, cut(self.m), cut(self.b), cut(self.h), self.offset, self.lo,
                                     self.hi, alt)
        out = []
        if bias is not None:
            out.append((np.add, (f, cut(bias), f)))
        if self.fast and spare is not None and f.size == 1 and f is not t:
            return out + self._steps_one(f, t, s, y, cut, spare)
        if self.fast:
            out += clamp_steps(f, cut(self.xlo), cut(self.xhi), f)
        if f is not t:
            out.append((setitem, (t, Ellipsis, f)))
        if not self.fast and self.wrap:
            out += [(np.left_shift, (t, cut(self.left), t)), (np.subtract, (t, _c64(_I32_MIN), t)),
                    (np.bitwise_and, (t, _c64(0xFFFFFFFF), t)), (np.add, (t, _c64(_I32_MIN), t))]
        if self.has_mask:
            out.append((np.bitwise_and, (t, cut(self.mask), s)))
        out.append((np.multiply, (t, cut(self.mult), t)))
        out.append((np.add, (t, cut(self.k), t)))
        if self.has_mask:
            out.append((np.add, (t, s, t)))
        out.append((np.right_shift, (t, cut(self.s), t)))
        if not self.fast:
            out += [(np.add, (t, _c64(self.offset), t)), (np.fmax, (t, _c64(self.lo), t)),
                    (np.fmin, (t, _c64(self.hi), t))]
        out.append((setitem, (y, Ellipsis, t)))
        return out

    def _steps_one(self, f, t, s, y, cut, spare):
        """The fast path on one element, every ufunc writing a buffer none of its inputs use
        (f is dead once copied to t, so s may share its bytes; the spare serves as float,
        then as int64)."""
        sf = spare[:f.itemsize].view(f.dtype).reshape(f.shape)
        si = spare[:8].view(np.int64).reshape(t.shape)
        out = clamp_steps(f, cut(self.xlo), cut(self.xhi), sf, f)
        out.append((setitem, (t, Ellipsis, sf)))
        if self.has_mask:
            out.append((np.bitwise_and, (t, cut(self.mask), s)))
        out.append((np.multiply, (t, cut(self.mult), si)))
        out.append((np.add, (si, cut(self.k), t)))
        cur, other = t, si
        if self.has_mask:
            out.append((np.add, (t, s, si)))
            cur, other = si, t
        out.append((np.right_shift, (cur, cut(self.s), other)))
        out.append((setitem, (y, Ellipsis, other)))
        return out

    def tile(self, vals, dtype):
        """vals (length n) tiled to (rows, n), or a 0-d array when uniform."""
        return self._tiles(np.asarray(vals).reshape(1, self.n), dtype)[0]


# numpy's clip ufunc clamps in one call (np.clip is a slow Python wrapper); without it,
# fmax then fmin (max/min without NaN handling; the accumulators hold exact integers). Its
# loop with array bounds is not vectorized: on large bands two vectorized calls are faster.
_CLIP = requant_f64.CLIP
CLIP_TILED_MAX = 512  # elements up to which clip beats fmax + fmin with tiled bounds


def clamp_steps(f, lo, hi, out, tmp=None):
    """Steps out = min(max(f, lo), hi); tmp (default out) holds max(f, lo) on the two-call
    path."""
    if _CLIP is not None and ((lo.ndim == 0 and hi.ndim == 0) or f.size <= CLIP_TILED_MAX):
        return [(_CLIP, (f, lo, hi, out))]
    tmp = out if tmp is None else tmp
    return [(np.fmax, (f, lo, tmp)), (np.fmin, (tmp, hi, out))]


def _c64(v):
    return np.array(v, np.int64)  # a 0-d operand (see the note at the top)


def run_steps(steps):
    """One closure running a step list (for callers that want a single callable)."""
    def run():
        for fn, args in steps:
            fn(*args)
    return run
