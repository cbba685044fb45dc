"""MUL (int8 and int16, numpy broadcasting up to 6-D): y = requant((x1 - z1) * (x2 - z2)) with
the real multiplier s1 * s2 / s_out computed in double from the float32 scales, as TFLite
Micro's Prepare. The multiplier may exceed 1 (positive shift). int16: TFLite Micro's integer
MUL on int16 values, which requires zero point 0 on all three tensors (so does binary_operands);
|x1 * x2| <= 2**30, and a left shift that takes it past int32 wraps as the reference's int32
arithmetic does.
Kernel inputs: [input1, input2]; params: [input1_offset, input2_offset, output_offset,
multiplier, shift, act_min, act_max] + broadcast plan (kernels/broadcast.py)."""
from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .add import DTYPES, binary_operands, np_int16_scratch  # noqa: F401 (DTYPES: the op table)
from .common import act_range, need, np_constants


def prepare(g: Graph, op: Op, ks: str) -> None:
    x1, x2, y, bparams = binary_operands(g, op)
    (s1, z1), (s2, z2), (so, zo) = x1.qparams(), x2.qparams(), y.qparams()
    # qparams() widens the float32 scales to double exactly, so this is TFLM's double math.
    mult, shift = quantize_multiplier(s1 * s2 / so)
    # the reference forms x * (1 << shift) in int32: a shift of 31 or more is undefined there
    need(shift <= 30, f"rescale factor {s1 * s2 / so:.6g} too large (output scale {so:.6g} too small)")
    lo, hi = act_range(op, y)
    op.kernel_inputs = [op.inputs[0], op.inputs[1]]
    op.params = [-z1, -z2, zo, mult, shift, lo, hi] + bparams
    op.scratch_bytes = 0
    if ks == "np" and not np_int16_scratch(g, op, 7):
        from ...kernels.np.broadcast import scratch_bytes
        from ...kernels.np.mul import table
        op.scratch_bytes = scratch_bytes(op.params, 7)
        np_constants(g, op, table(op.params))
