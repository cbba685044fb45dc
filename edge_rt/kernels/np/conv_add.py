# CONV_2D_ADD (residual fusion), numpy: the convolution writes its int8 output into
# scratch, then the ADD combines it with the skip tensor into the output. The ADD's index
# scratch reuses the convolution's (which is dead by then). The output may share the skip
# tensor's bytes (planned in place): every output element reads only the same-index skip
# element, before writing it.
from ... import format as F
from . import add, conv_2d
from ._compose import SubOp, scratch_tensor


def bind(op, m, v, arena):
    # inputs: CONV_2D's 5, skip [, conv constants, ADD table (packed for this kernel set)]
    x, w, b, mu, sh, skip = op.inputs[:6]
    extra = list(op.inputs[6:8])
    y = op.outputs[0]
    conv_params = list(op.params[:10])
    pos = op.params[10]
    add_params = list(op.params[11:])
    vv = list(v)
    mid_view, used = scratch_tensor(arena, op.scratch_offset, v[skip].shape)
    mid = len(vv)
    vv.append(mid_view)
    rest = op.scratch_offset + used
    conv = conv_2d.bind(SubOp(F.OP_CONV_2D, [x, w, b, mu, sh] + extra[:1], [mid], conv_params, rest), m, vv, arena)
    pair = [mid, skip] if pos == 1 else [skip, mid]
    adder = add.bind(SubOp(F.OP_ADD, pair + extra[1:], [y], add_params, rest), m, vv, arena)

    def run():
        conv()
        adder()
    return run
