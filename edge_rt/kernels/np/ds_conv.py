# DS_CONV_2D (depthwise-separable fusion), numpy: the depthwise part writes its int8 output
# into scratch, then the 1x1 pointwise part writes the output; the pointwise scratch reuses
# the depthwise's (dead by then). The output may share the input's bytes (planned in place):
# the depthwise part has read all of the input before the pointwise part writes anything.
from ... import format as F
from . import conv_2d, depthwise_conv_2d
from ._compose import SubOp, scratch_tensor


def bind(op, m, v, arena):
    # inputs: x, the depthwise's 4 constants, the pointwise's 4 [, depthwise constants,
    # pointwise constants (packed for this kernel set)]
    x, dw_w, dw_b, dw_m, dw_s, pw_w, pw_b, pw_m, pw_s = op.inputs[:9]
    extra = list(op.inputs[9:11])
    y = op.outputs[0]
    dw_params = list(op.params[:11])
    pw_params = list(op.params[11:21])
    n, oh, ow, _ = v[y].shape
    c = v[dw_w].shape[3]
    vv = list(v)
    mid_view, used = scratch_tensor(arena, op.scratch_offset, (n, oh, ow, c))
    mid = len(vv)
    vv.append(mid_view)
    rest = op.scratch_offset + used
    dw = depthwise_conv_2d.bind(SubOp(F.OP_DEPTHWISE_CONV_2D, [x, dw_w, dw_b, dw_m, dw_s] + extra[:1], [mid], dw_params,
                                      rest), m, vv, arena)
    pw = conv_2d.bind(SubOp(F.OP_CONV_2D, [mid, pw_w, pw_b, pw_m, pw_s] + extra[1:], [y], pw_params, rest), m, vv, arena)

    def run():
        dw()
        pw()
    return run
