# MEAN (int8), numpy: the input widened into float scratch, one sum-reduction over the
# reduced (merged) axes, then requant.Plan's steps with the -in_zp * num offset as the bias
# and the 1/num factor folded into the multiplier at pack time. Sums of num int8 values
# plus the offset are exact in float32 up to 2**24 (float64 beyond).
import numpy as np

from ._conv_common import r16
from .requant import Plan, run_steps, setitem


def _dtype(num, offset):
    return np.float32 if 128 * num + abs(offset) <= 1 << 24 else np.float64


def scratch_bytes(n_in, n_out, num, offset):
    isz = np.dtype(_dtype(num, offset)).itemsize
    return r16(n_in * isz) + r16(n_out * isz) + 2 * r16(n_out * 8)


def bind(op, m, v, arena):
    mult, shift, out_zp, offset, nd = op.params[:5]
    dims = op.params[5:5 + nd]
    flags = op.params[5 + nd:5 + 2 * nd]
    x = v[op.inputs[0]].reshape(dims)
    y = v[op.outputs[0]]
    num = 1
    for d in range(nd):
        if flags[d]:
            num *= dims[d]
    ft = _dtype(num, offset)
    isz = np.dtype(ft).itemsize
    axes = tuple(d for d in range(nd) if flags[d])
    kshape = [1 if flags[d] else dims[d] for d in range(nd)]
    o = op.scratch_offset
    xf = np.frombuffer(arena, ft, x.size, o).reshape(dims)
    o += r16(x.size * isz)
    acc = np.frombuffer(arena, ft, y.size, o).reshape(kshape)
    o += r16(y.size * isz)
    t = np.frombuffer(arena, np.int64, y.size, o).reshape(1, y.size)
    s = np.frombuffer(arena, np.int64, y.size, o + r16(y.size * 8)).reshape(1, y.size)
    plan = Plan(mult, shift, out_zp, -128, 127, 1, xmax=[128 * num + abs(offset)], acc=ft, rows=1)
    steps = [(setitem, (xf, Ellipsis, x)), (np.add.reduce, (xf, axes, None, acc, True))]
    # the widened input is dead after the reduction: the spare of a one-element output
    spare = np.frombuffer(arena, np.uint8, r16(x.size * isz), op.scratch_offset)
    steps += plan.steps(acc.reshape(1, y.size), t, s, y.reshape(1, y.size), ft(offset), spare=spare)
    return run_steps(steps)
