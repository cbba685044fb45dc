# FULLY_CONNECTED_ADD (residual fusion), numpy: the FULLY_CONNECTED part writes its int8
# output into scratch, then the ADD combines it with the skip tensor (see conv_add.py); the
# ADD's index scratch reuses the FULLY_CONNECTED's.
from ... import format as F
from . import add, fully_connected
from ._compose import SubOp, scratch_tensor


def bind(op, m, v, arena):
    # inputs: FULLY_CONNECTED's 5, skip [, FC constants, ADD table (packed for this kernel set)]
    x, w, b, mu, sh, skip = op.inputs[:6]
    extra = list(op.inputs[6:8])
    pos = op.params[3]
    vv = list(v)
    mid_view, used = scratch_tensor(arena, op.scratch_offset, v[skip].shape)
    mid = len(vv)
    vv.append(mid_view)
    rest = op.scratch_offset + used
    fc = fully_connected.bind(SubOp(F.OP_FULLY_CONNECTED, [x, w, b, mu, sh] + extra[:1], [mid], list(op.params[:3]), rest),
                              m, vv, arena)
    pair = [mid, skip] if pos == 1 else [skip, mid]
    adder = add.bind(SubOp(F.OP_ADD, pair + extra[1:], [op.outputs[0]], list(op.params[4:]), rest), m, vv, arena)

    def run():
        fc()
        adder()
    return run
