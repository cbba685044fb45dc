# Binders of the C kernel set: each turns one op of the file into a record spec
# (opcode, params, operands) for _ert.Program (v, the view table, is None: unused).
# params = geometry read from the tensor records followed by the op's prepared params
# (layouts in ert_kernels.h); operands = (region, offset, room) per pointer, region 0 = CONSTS,
# 1 = arena. The C validator re-checks every extent against the rooms given here and the range
# of the requantization constants, so these functions check meaning (dtypes, shapes), not
# memory safety.
from ... import format as F

_CONSTS, _ARENA = 0, 1


def _operand(m, tid, dtype):
    if tid < 0:
        raise ValueError("required operand missing")
    t = m.tensors[tid]
    if t.dtype != dtype:
        raise ValueError("tensor %d (%s) is %s, the kernel needs %s" % (
            tid, t.name, F.DTYPE_NAMES.get(t.dtype, "?"), F.DTYPE_NAMES[dtype]))
    if t.kind == F.KIND_CONST:
        if m.consts is None:
            raise ValueError("the c kernels need the constants mapped (stream=False)")
        return (_CONSTS, t.offset, t.nbytes)
    return (_ARENA, t.offset, t.nbytes)


def _scratch(op):
    return (_ARENA, op.scratch_offset, op.scratch_bytes)


def _requant(m, v, i_m, i_s, n):
    """The multiplier/shift operands of n channels (the C validator checks the value ranges the
    fixed-point code assumes: multiplier >= 0, shift in [-31, 30])."""
    mo, so = _operand(m, i_m, F.DT_INT32), _operand(m, i_s, F.DT_INT32)  # values: checked in C (sig m, h)
    if mo[2] != 4 * n or so[2] != 4 * n:
        raise ValueError("%d multipliers and %d shifts for %d channels" % (mo[2] // 4, so[2] // 4, n))
    return mo, so


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _fc(op, m, v):
    """FULLY_CONNECTED's geometry + params and its first six operands."""
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]
    x, y = _operand(m, i_x, F.DT_INT8), _operand(m, op.outputs[0], F.DT_INT8)
    b = _operand(m, i_b, F.DT_INT32)
    # the weights are c_packing's [ceil(n/16)][ceil(k/4)][16][4]: n from the bias, k from the rows
    n = b[2] // 4
    if n < 1 or y[2] < n or y[2] % n or x[2] % (y[2] // n):
        raise ValueError("%d outputs and %d inputs for %d channels" % (y[2], x[2], n))
    batches = y[2] // n
    k = x[2] // batches
    ws = m.tensors[i_w].shape
    if tuple(ws) != ((n + 15) // 16, (k + 3) // 4, 16, 4):
        raise ValueError("weights of shape %s are not the C packing of %dx%d" % (ws, n, k))
    mo, so = _requant(m, v, i_m, i_s, n)
    prm = [batches, n, k] + list(op.params[:3])
    return prm, [x, _operand(m, i_w, F.DT_INT8), b, mo, so, y]


def _packed(m, op, at):
    """The C packing of the op's weights (prepare/common.py c_constants) at op.inputs[at:at + 2]."""
    if len(op.inputs) < at + 2:
        raise ValueError("the packed weights are missing (file not packed for the c kernels)")
    return [_operand(m, op.inputs[at], F.DT_INT8), _operand(m, op.inputs[at + 1], F.DT_INT32)]


def _wsum(m, op, at):
    """FULLY_CONNECTED's wsum (prepare/common.py c_wsum) at op.inputs[at], after its operands."""
    if len(op.inputs) != at + 1:
        raise ValueError("the weight sums are missing (file not packed for the c kernels)")
    return [_operand(m, op.inputs[at], F.DT_INT32)]


def fully_connected(op, m, v, arena):
    prm, opd = _fc(op, m, v)
    return (F.OP_FULLY_CONNECTED, prm, opd + [_scratch(op)] + _wsum(m, op, 5))


def fc_add(op, m, v, arena):
    prm, opd = _fc(op, m, v)
    return (F.OP_FULLY_CONNECTED_ADD, prm + [op.params[3]] + list(op.params[4:16]),
            opd + [_operand(m, op.inputs[5], F.DT_INT8), _scratch(op)] + _wsum(m, op, 6))


def _shape4(m, tid, what):
    s = m.tensors[tid].shape
    if len(s) != 4:
        raise ValueError("%s must be 4-D, got %s" % (what, s))
    return s


def _conv_like(op, m, v, depthwise, params):
    """Geometry (ert_conv.h: nb, h, w, ic, oc, kh, kw, oh, ow) + CONV_2D's 10 params, and the
    first six operands, of a convolution whose kernel inputs start at op.inputs[0]."""
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]
    nb, h, w, ic = _shape4(m, i_x, "input")
    ws = _shape4(m, i_w, "filter")
    if depthwise:
        _, kh, kw, oc = ws
        if ws[0] != 1:
            raise ValueError("depthwise filter must be 1xKHxKWxOC, got %s" % (ws,))
    else:
        oc, kh, kw, wic = ws
        if wic != ic:
            raise ValueError("filter has %d input channels, input %d" % (wic, ic))
    return [nb, h, w, ic, oc, kh, kw] + list(params[:10]), [i_x, i_w, i_b, i_m, i_s], oc


def _conv_operands(m, v, ids, oc, y):
    i_x, i_w, i_b, i_m, i_s = ids
    mo, so = _requant(m, v, i_m, i_s, oc)
    return [_operand(m, i_x, F.DT_INT8), _operand(m, i_w, F.DT_INT8), _operand(m, i_b, F.DT_INT32), mo, so,
            _operand(m, y, F.DT_INT8)]


def _geometry(head, params, m, y, oc):
    nby, oh, ow, ocy = _shape4(m, y, "output")
    if nby != head[0] or ocy != oc:
        raise ValueError("output shape %s does not match the input batch / filter channels" % (
            m.tensors[y].shape,))
    sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi = params[:10]
    return head + [oh, ow, sh, sw, dh, dw, pt, pl, in_zp, out_off, lo, hi]


def conv_2d(op, m, v, arena):
    head, ids, oc = _conv_like(op, m, v, False, op.params)
    prm = _geometry(head[:7], op.params, m, op.outputs[0], oc)
    return (F.OP_CONV_2D, prm, _conv_operands(m, v, ids, oc, op.outputs[0]) + [_scratch(op)] + _packed(m, op, 5))


def conv_add(op, m, v, arena):
    head, ids, oc = _conv_like(op, m, v, False, op.params)
    prm = _geometry(head[:7], op.params, m, op.outputs[0], oc) + [op.params[10]] + list(op.params[11:23])
    return (F.OP_CONV_2D_ADD, prm, _conv_operands(m, v, ids, oc, op.outputs[0]) +
            [_operand(m, op.inputs[5], F.DT_INT8), _scratch(op)] + _packed(m, op, 6))


def depthwise_conv_2d(op, m, v, arena):
    head, ids, oc = _conv_like(op, m, v, True, op.params)
    prm = _geometry(head[:7], op.params, m, op.outputs[0], oc) + [op.params[10]]
    return (F.OP_DEPTHWISE_CONV_2D, prm, _conv_operands(m, v, ids, oc, op.outputs[0]) + [_scratch(op)] +
            _packed(m, op, 5))


def ds_conv(op, m, v, arena):
    """DS_CONV_2D: the depthwise part's geometry (its output is the band, never a tensor) and the
    1x1 part's filter (poc, 1, 1, oc), params and in-place flag."""
    head, ids, c = _conv_like(op, m, v, True, op.params)
    tx, ty = m.tensors[op.inputs[0]], m.tensors[op.outputs[0]]
    nby, oh, ow, poc = _shape4(m, op.outputs[0], "output")
    pw = op.params[11:21]
    if list(pw[:6]) != [1, 1, 1, 1, 0, 0]:
        raise ValueError("the pointwise part must be a 1x1 stride-1 convolution")
    pws = _shape4(m, op.inputs[5], "pointwise filter")
    if tuple(pws) != (poc, 1, 1, c) or nby != head[0]:
        raise ValueError("pointwise filter %s does not map %d channels to %d" % (pws, c, poc))
    sh, sw, dh, dw, pt, pl, in_zp, d_off, d_lo, d_hi, dm = op.params[:11]
    prm = head[:7] + [oh, ow, sh, sw, dh, dw, pt, pl, in_zp, d_off, d_lo, d_hi, dm]
    # in place: the planner's exact pair (equal shapes, same offset); a row-overlap output may start
    # at the input's offset too (other shape), which the kernel runs as not in place
    inplace = 1 if (tx.kind == ty.kind == F.KIND_ARENA and tx.offset == ty.offset and tx.shape == ty.shape) else 0
    prm += [poc, pw[7], pw[8], pw[9], inplace]
    i_pw, i_pb, i_pm, i_ps = op.inputs[5:9]
    pmo, pso = _requant(m, v, i_pm, i_ps, poc)
    opd = _conv_operands(m, v, ids, c, op.outputs[0])[:5]
    opd += [_operand(m, i_pw, F.DT_INT8), _operand(m, i_pb, F.DT_INT32), pmo, pso,
            _operand(m, op.outputs[0], F.DT_INT8), _scratch(op)] + _packed(m, op, 9)
    return (F.OP_DS_CONV_2D, prm, opd)


BINDERS = {
    F.OP_CONV_2D: conv_2d,
    F.OP_DEPTHWISE_CONV_2D: depthwise_conv_2d,
    F.OP_FULLY_CONNECTED: fully_connected,
    F.OP_CONV_2D_ADD: conv_add,
    F.OP_DS_CONV_2D: ds_conv,
    F.OP_FULLY_CONNECTED_ADD: fc_add,
}

# the element-wise, pooling and data-movement ops (bind_elem.py)
from .bind_elem import BINDERS_ELEM  # noqa: E402  (after the helpers it imports from here)

BINDERS.update(BINDERS_ELEM)
