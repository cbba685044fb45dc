# FULLY_CONNECTED, numpy: one BLAS product on integer-valued floats (the exactness bound is
# the convolution's, see _conv_common.py) and the vectorized requantization, in planned
# scratch: widen x, product, then requant.Plan's steps (clamp, double rounding). The bias
# rides in the product: x gets a constant 1 appended (rewritten every run, the arena being
# shared; for batch 1 x is widened into a private vector instead, which keeps its 1) and the
# weights a bias row, which keeps the bound (it already counts |bias|).
#
# Small matrix-vector products (at most FOLD_MAX weights, batch 1) are dominated by the fixed
# cost of each numpy call, so when exactness allows they run the requantization inside the
# product instead (_fold_params, _bind_folded): 5 numpy calls in all instead of 8. A chain of
# such layers hands results over as floats (_handoff_target): the producer rounds and clamps
# straight into the reader's widened input, so each link saves the int8 write and the widening.
import numpy as np

from ._conv_common import constants as _constants, gemm_dtype, r16
from ... import format as F
from . import _wide, requant_f64
from .requant_f64 import CLIP
from .requant import F64, HEADER, Plan, as_int64, packed_acc, run_steps, setitem

FOLD_MAX = 20000  # weights (N * (K+1)); above it float64's slower product costs more than it saves


def _layout(batches, n, k, isz):
    s_at = r16(batches * (k + 1) * isz)
    t_at = s_at + r16(batches * n * 8)
    return s_at, t_at, t_at + r16(batches * n * 8)


def scratch_bytes(batches, n, k, w2, bias):
    return _layout(batches, n, k, np.dtype(gemm_dtype(w2, bias)[0]).itemsize)[2]


def constants(w, bias, mult, shift, params):
    """The np-only extra input (pack time): requantization constants for weights (N, K)."""
    return _constants(w, bias, mult, shift, *params[:3])


def bind(op, m, v, arena):
    # inputs: x, weights, bias, multiplier, shift [, constants() (packed for this kernel set)]
    x, w, bias, mult, shift = [v[i] for i in op.inputs[:5]]
    if x.dtype == np.int16:  # int16x8 (_wide.py); the bias dtype picks TFLite's accumulator
        return run_steps(_wide.fc_steps(x, w, bias, mult, shift, v[op.outputs[0]], op.params, arena,
                                        op.scratch_offset, bias.dtype == np.int64))
    packed = v[op.inputs[5]] if len(op.inputs) > 5 else constants(np.asarray(w), bias, mult, shift, op.params)
    y = v[op.outputs[0]]
    out_off, lo, hi = op.params[:3]
    n, k = w.shape
    batches = x.size // k
    ft = packed_acc(packed)
    s_at, t_at, _ = _layout(batches, n, k, np.dtype(ft).itemsize)
    o = op.scratch_offset
    if batches == 1 and n * (k + 1) <= FOLD_MAX:
        fp = _fold_params(np.asarray(w), np.asarray(bias).reshape(n), as_int64(packed), n, shift)
        if fp is not None:
            return _bind_folded(op, m, v, arena, x, w, fp, n, k, s_at, t_at)
    xf = np.frombuffer(arena, ft, batches * (k + 1), o).reshape(batches, k + 1)
    s = np.frombuffer(arena, np.int64, batches * n, o + s_at).reshape(batches, n)
    acc = np.frombuffer(arena, ft, batches * n, o + s_at).reshape(batches, n)  # s's bytes
    t = np.frombuffer(arena, np.int64, batches * n, o + t_at).reshape(batches, n)
    # [weights | bias] in the GEMM dtype, (N, K+1): a constant derived at bind time, kept
    # outside the arena like the model's own constants
    plan = Plan(None, None, out_off, lo, hi, n, rows=batches, packed=packed)
    wb = np.empty((n, k + 1), ft)
    setitem(wb[:, :k], Ellipsis, w)   # one converting copy each, no int32 temporary
    setitem(wb[:, k], Ellipsis, 0 if plan.f64 else bias.reshape(n))  # the F64 plan adds the bias
    if batches == 1:  # matrix-vector: np.dot of (N, K+1) by (K+1,) is the cheapest BLAS call
        # the widened input is private (1/N of wb's size), so its constant 1 is written once
        xd = np.ones(k + 1, ft)
        steps = [(setitem, (xd[:k], Ellipsis, x.reshape(k))), (np.dot, (wb, xd, acc[0]))]
    else:
        steps = [(setitem, (xf[:, :k], Ellipsis, x.reshape(batches, k))), (np.ndarray.fill, (xf[:, k:], ft(1))),
                 (np.matmul, (xf, wb.T, acc))]
    # the arena's widened input is dead after the product (unused for batch 1): the spare of
    # a one-element output
    spare = np.frombuffer(arena, np.uint8, batches * (k + 1) * xf.itemsize, o)
    steps += plan.steps(acc, t, s, y.reshape(batches, n), spare=spare if spare.size >= 8 * acc.size else None)
    return run_steps(steps)


def _fold_params(w, bias, packed, n, shift):
    """(m, b, h, mask) of the F64 plan when the requantization folds into the product, or None.

    With the float64 plan (requant_f64.py: t = acc*m + b, then the sign term, rounding and
    clamp) the product can compute t directly from weights w*m and a bias column b: m is
    M * 2**L / 2**S and b a multiple of 2**-(S+1), so every product and partial sum any BLAS
    forms (any order, with FMA or not) is a multiple of 2**-(S+1); below 2**53 of those units
    in magnitude it is representable, so no step rounds and t equals the plan's t exactly
    (whose results the packer verified). The bound, per channel: (2 * (A*m + |b| + 128) +
    2**-(S+1)) * 2**(S+1) < 2**53 with A = 128 * sum|w| + |bias| + 1 (the 128: room for the
    output offset, which the handoff below adds inside the product); evaluated in float64
    (relative error below 2**-50) against the limit shrunk by 2**-40: it errs only on the
    safe side."""
    head = packed[:HEADER].tolist()
    if head[1] != F64:
        return None
    m, b, h = packed[HEADER:HEADER + 3 * n].reshape(3, n).view(np.float64)
    a = (128 * np.abs(w.astype(np.int64)).sum(axis=1) + np.abs(bias.astype(np.int64)) + 1).astype(np.float64)
    s = 31 + np.maximum(-np.asarray(shift, np.int64).reshape(-1), 0)
    with np.errstate(all="ignore"):  # a damaged file may hold anything: inf/nan fail the test
        lhs = np.ldexp(2 * (a * m + np.abs(b) + 128) + np.ldexp(1.0, -(s + 1)), s + 1)
    if not (lhs < 2.0 ** 53 * (1 - 2.0 ** -40)).all():
        return None
    return m, b, h, bool(head[2])


def _handoff_target(op, m, v):
    """The float64 input vector (K+1 values, the last 1) shared by the readers of op's output
    when every reader is a batch-1 FULLY_CONNECTED whose requantization folds (and the output
    is no graph output), else None. The producer then writes its result there as exact
    integer-valued floats instead of int8 bytes that each reader would widen again."""
    if m is None:
        return None
    yid = op.outputs[0]
    if yid in m.outputs or m.tensors[yid].offset < m.state_bytes:
        return None  # a graph output or a state variable: its int8 bytes must be written
    readers = [c for c in m.ops if yid in c.inputs]
    for c in readers:
        if (c.opcode != F.OP_FULLY_CONNECTED or c.inputs[0] != yid or yid in c.inputs[1:]
                or len(c.inputs) < 6):
            return None
        cw = v[c.inputs[1]]
        cn, ck = cw.shape
        if v[yid].size != ck or cn * (ck + 1) > FOLD_MAX:
            return None
        if _fold_params(np.asarray(cw), np.asarray(v[c.inputs[2]]).reshape(cn), as_int64(v[c.inputs[5]]), cn,
                        v[c.inputs[4]]) is None:
            return None
    return np.ones(v[yid].size + 1, np.float64) if readers else None


def _bind_folded(op, m, v, arena, x, w, fp, n, k, s_at, t_at):
    """The folded path: [widen x,] one float64 product giving t, then the F64 plan's tail.
    x comes as floats from its producer when that one registered a handoff vector for it."""
    mv, b, h, mask = fp
    out_off, lo, hi = op.params[:3]
    o = op.scratch_offset
    handoff = getattr(m, "np_handoff", None) if m is not None else None
    xd = handoff.get(op.inputs[0]) if handoff else None
    steps = []
    if xd is None:
        xd = np.ones(k + 1, np.float64)  # private (the 1 stays): bind-time, like wm
        steps.append((setitem, (xd[:k], Ellipsis, x.reshape(k))))
    target = _handoff_target(op, m, v)
    wm = np.empty((n, k + 1), np.float64)
    setitem(wm[:, :k], Ellipsis, w)
    wm[:, :k] *= mv[:, None]  # int8 * m: exact (m has at most 31 significant bits)
    wm[:, k] = b if (mask or target is None) else b + out_off  # no sign term: the offset rides along
    a = np.frombuffer(arena, np.float64, n, o + s_at)
    u = np.frombuffer(arena, np.float64, n, o + t_at)
    steps.append((np.dot, (wm, xd, a)))
    if target is None:
        alt = np.frombuffer(arena, np.float64, n, o) if n == 1 else None  # dead widened input
        steps += requant_f64.tail_steps(a, u if mask else None, v[op.outputs[0]].reshape(n), h.copy(), out_off, lo,
                                        hi, alt)
        return run_steps(steps)
    # handoff: round and clamp straight into the readers' input; every step out of place (a
    # one-element in-place ufunc would allocate). t is exact, so rint (ties to even, like the
    # F64 plan's magic-number add) gives the verified integers.
    xt = target[:n]
    cur = a
    if mask:
        steps += [(np.copysign, (h.copy(), a, u)), (np.add, (a, u, xt))]
        cur = xt
        if out_off:
            steps.append((np.add, (xt, np.array(float(out_off)), a)))
            cur = a
    other = u if cur is not u else a
    steps += [(np.rint, (cur, other)), (CLIP, (other, np.array(float(lo)), np.array(float(hi)), xt))]
    m.np_handoff = handoff if handoff is not None else {}
    m.np_handoff[op.outputs[0]] = target
    return run_steps(steps)
