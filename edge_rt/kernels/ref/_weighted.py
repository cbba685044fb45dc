# Bind-time setup shared by the weighted ref kernels (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED
# and the fused CONV_2D_ADD / FULLY_CONNECTED_ADD): their operands and geometry. The loops stay in
# each op's file (run() binds its state as default arguments, docs/micropython.md).
from ... import format as F
from ...compat import retype
from ..fc_packing import fc_geometry, fc_weights  # noqa: F401  (the ref FC kernels' geometry)


def operands8(op, m, v):
    """(x, w, bias, multiplier halves, shift, y) of an int8 op (inputs x, w, bias, mult, shift
    first; np-packed files append np-only constants). The int32 multipliers (>= 2**30, big ints on
    32-bit MicroPython) are read as uint16 halves, so requantization stays allocation-free: see
    quant.mbqm_halves."""
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]
    return (v[i_x], v[i_w], v[i_b], retype(v[i_m], m.tensors[i_m].nbytes, "H"), v[i_s],
            v[op.outputs[0]])


def operands16(op, m, v):
    """(x, w, bias, mult, shift, y, wide) of an int16x8 op: the multipliers as int32 (this path
    computes in big ints on a 32-bit port anyway); wide: an int64 bias, which picks TFLite's int64
    accumulator (quant.requant_int16x8)."""
    i_x, i_w, i_b, i_m, i_s = op.inputs[:5]
    return (v[i_x], v[i_w], v[i_b], v[i_m], v[i_s], v[op.outputs[0]],
            m.tensors[i_b].dtype == F.DT_INT64)


def conv_geometry(op, m, depthwise=False):
    """(nb, h, wd, ic, oc, kh, kw, oh, ow) of CONV_2D (filter OHWI) or DEPTHWISE_CONV_2D (1HWO)."""
    nb, h, wd, ic = m.tensors[op.inputs[0]].shape
    ws = m.tensors[op.inputs[1]].shape
    _, oh, ow, _ = m.tensors[op.outputs[0]].shape
    oc = ws[3] if depthwise else ws[0]
    return nb, h, wd, ic, oc, ws[1], ws[2], oh, ow
