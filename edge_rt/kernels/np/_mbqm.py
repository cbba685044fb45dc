# Exact requantization helpers for bind and pack time (they allocate): the reference mbqm on
# int64 arrays, and the exact input thresholds of its output levels. requant.py (the integer
# plans) and requant_f64.py (the float64 plan's verifier) both build on these; this module
# imports neither, so the two import it one way.
import numpy as np

I32_MIN = -(1 << 31)


def first_at_least(mult, shift, offset, targets):
    """For each target t and channel c: the smallest int32 x with mbqm(x, mult[c], shift[c])
    + offset >= t, or None. mbqm is non-decreasing in x for a positive multiplier, so this is
    what a bisection finds; here a closed-form estimate from the real multiplier
    m * 2**shift / 2**31 (off by at most a couple of steps) is corrected by exact evaluation,
    vectorized over channels — load time matters (bind runs this for every op)."""
    n = len(mult)
    m = np.asarray(mult, np.int64)
    sh = np.asarray(shift, np.int64)
    lo_x, hi_x = I32_MIN, (1 << 31) - 1
    out = []
    for t in targets:
        est = []
        for mc, sc in zip(mult, shift):
            # x >= (t - offset - 1/2) / real, exactly: (2(t - off) - 1) * 2**(30 - shift) / m
            num = (2 * (t - offset) - 1) << (30 - sc) if sc <= 30 else 0
            est.append(min(max(num // mc if mc > 0 else lo_x, lo_x), hi_x))
        x = np.array(est, np.int64)

        def r(v):
            return exact_mbqm(v, m, sh) + offset
        for _ in range(64):  # converges in a step or two; the bound only guards the loop
            down = (x > lo_x) & (r(np.maximum(x - 1, lo_x)) >= t)
            up = (r(x) < t) & (x < hi_x)
            if not down.any() and not up.any():
                break
            x = x - down + up
        ok = r(x) >= t
        out.append([int(v) if k else None for v, k in zip(x, ok)])
        assert len(out[-1]) == n
    return out


def exact_mbqm(x, mult, shift):
    """Reference mbqm on an int64 array (bind time only: allocates). Used to build tables."""
    x = np.asarray(x, np.int64)
    mult = np.asarray(mult, np.int64)
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    x = ((x << left) - I32_MIN) % (1 << 32) + I32_MIN
    ab = x * mult
    t = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    q = (t >> 31) + ((t < 0) & ((t & ((1 << 31) - 1)) != 0))
    q = np.where((x == I32_MIN) & (mult == I32_MIN), (1 << 31) - 1, q)
    mask = (np.int64(1) << right) - 1
    return (q >> right) + ((q & mask) > (mask >> 1) + (q < 0))
