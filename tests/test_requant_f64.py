"""The float64 requantization plan (kernels/np/requant_f64.py) against the exact integer
reference on every accumulator value of its domain, and its pack-time verifier: whenever
verify() accepts a plan, a dense sweep agrees; when the plan is wrong, verify() rejects it."""
from __future__ import annotations

import os

import numpy as np
import pytest

from edge_rt.kernels.np import requant, requant_f64


def _exact(acc, bias, mult, shift, off, lo, hi):
    return np.clip(requant.exact_mbqm(acc + bias, mult, shift) + off, lo, hi)


def _run(acc, consts, off, lo, hi, mask):
    """The plan's steps over accumulators acc (R, n), as the kernels run them."""
    m, b, h = consts
    r, n = acc.shape
    t = np.empty((r, n))
    u = np.empty((r, n)) if mask else None
    y = np.empty((r, n), np.int8)
    tiles = [np.ascontiguousarray(np.broadcast_to(c, (r, n))) for c in (m, b, h)]
    for fn, args in requant_f64.steps(acc, t, u, y, *tiles, off, lo, hi):
        fn(*args)
    return y.astype(np.int64)


def _params(rng, n):
    mult = rng.integers(1 << 30, (1 << 31) - 1, n)
    shift = -rng.integers(0, 16, n) if rng.random() < 0.85 else rng.integers(-2, 3, n)
    off = int(rng.integers(-128, 128))
    u = rng.random()
    if u < 0.35:
        lo, hi = -128, 127
    elif u < 0.7:
        lo, hi = off, 127
    else:
        lo, hi = sorted(int(v) for v in rng.integers(-128, 128, 2))
    bias = rng.integers(-(1 << 14), 1 << 14, n)
    amax = rng.integers(1, 1 << 15, n)
    return mult, shift, off, lo, hi, bias, amax


@pytest.mark.parametrize("acc_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(3))
def test_accepted_plans_are_exact_on_the_whole_domain(seed, acc_dtype):
    rng = np.random.default_rng(seed)
    accepted = {False: 0, True: 0}
    for _ in range(25):
        n = int(rng.choice([1, 3, 8]))
        mult, shift, off, lo, hi, bias, amax = _params(rng, n)
        for mask in (False, True):
            c = requant_f64.verify(mult, shift, off, lo, hi, bias, amax, np.dtype(acc_dtype), mask)
            if c is None:
                continue
            accepted[mask] += 1
            top = int(amax.max())
            acc = np.repeat(np.arange(-top, top + 1)[:, None], n, axis=1)
            acc = np.clip(acc, -amax, amax)  # each channel's own domain
            want = _exact(acc, bias, mult, shift, off, lo, hi)
            got = _run(acc.astype(acc_dtype), c, off, lo, hi, mask)
            assert np.array_equal(got, want), (seed, mult, shift, off, lo, hi, mask)
            break
    # both variants occur and most parameter sets are served by one of them
    assert accepted[False] >= 5 and accepted[True] >= 5, accepted
    assert accepted[False] + accepted[True] >= 20, accepted


def test_verifier_rejects_the_plan_without_sign_term_where_it_is_wrong():
    """Without the sign term, negative accumulators that map above lo round the wrong way at
    some ties of the second rounding; the sweep finds them and so must verify()."""
    rng = np.random.default_rng(11)
    caught = 0
    for _ in range(40):
        n = 4
        mult = rng.integers(1 << 30, (1 << 31) - 1, n)
        shift = -rng.integers(1, 6, n)
        bias = np.zeros(n, np.int64)
        amax = np.full(n, 4000)
        off, lo, hi = 0, -128, 127
        m, b, h = requant_f64.constants(mult, shift, bias, mask=False)
        acc = np.repeat(np.arange(-4000, 4001)[:, None], n, axis=1)
        wrong = not np.array_equal(_run(acc.astype(np.float32), (m, b, h), off, lo, hi, False),
                                   _exact(acc, bias, mult, shift, off, lo, hi))
        ok = requant_f64.verify(mult, shift, off, lo, hi, bias, amax, np.dtype(np.float32), False)
        assert (ok is None) == wrong
        caught += wrong
    assert caught >= 10


def test_one_element_steps_need_no_in_place_ufunc():
    """With one element every step writes the other buffer (numpy serves one-element in-place
    ufuncs through a temporary)."""
    mult, shift, bias, amax = np.array([1 << 30]), np.array([-3]), np.array([5]), np.array([1000])
    c = requant_f64.verify(mult, shift, -3, -128, 127, bias, amax, np.dtype(np.float32), True)
    assert c is not None
    acc, t, u, alt = (np.zeros((1, 1), d) for d in (np.float32, np.float64, np.float64, np.float64))
    y = np.zeros((1, 1), np.int8)
    steps = requant_f64.steps(acc, t, u, y, *(v.reshape(1, 1) for v in c), -3, -128, 127, alt)
    for fn, args in steps:
        if isinstance(fn, np.ufunc):
            ins, out = args[:fn.nin], args[fn.nin]
            assert all(a is not out for a in ins), fn
    for v in (-1000, -9, -8, -1, 0, 7, 1000):
        acc[0, 0] = v
        for fn, args in steps:
            fn(*args)
        assert y[0, 0] == _exact(np.array([v]), bias, mult, shift, -3, -128, 127)[0]


def test_requant_modules_import_one_way():
    """requant imports requant_f64; both import the exact helpers of _mbqm, which imports neither."""
    import ast
    import edge_rt.kernels.np as pkg
    here = os.path.dirname(pkg.__file__)

    def imports(name):
        tree = ast.parse(open(os.path.join(here, name + ".py")).read())
        got = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                got |= {node.module} if node.module else {a.name for a in node.names}
        return got
    assert imports("requant") >= {"requant_f64", "_mbqm"}
    assert "requant" not in imports("requant_f64") and imports("_mbqm") == set()
