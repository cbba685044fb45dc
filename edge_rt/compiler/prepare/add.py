"""ADD (int8 and int16, numpy broadcasting up to 6-D). Each input is offset, shifted left by
20 bits (int8) or 15 bits (int16) and rescaled to a common scale (2 * the larger input scale),
the two are summed and the sum is rescaled to the output, as TFLite Micro's quantized ADD.
SUB (sub.py) shares everything but the sign.

int16 (the int16x8 scheme): TFLite Micro runs the general path above with left_shift 15 (its
reference also has a power-of-two-scale int16 path, which TFLite Micro never selects: it passes
pot_scale = false). We require zero point 0 on all three tensors, the scheme's rule: then
|x| << 15 <= 2**30 and the sum of two values rescaled by multipliers <= 1/2 stays in int32.
Kernel inputs: [input1, input2]; params: [input1_offset, input2_offset, left_shift,
multiplier1, shift1, multiplier2, shift2, output_offset, out_multiplier, out_shift,
act_min, act_max] + broadcast plan (kernels/broadcast.py: ndim, dims, strides1, strides2)."""
from __future__ import annotations

import numpy as np

from ...kernels import broadcast
from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import OpProblem, act_range, need, need_dtype, need_quant, np_constants

DTYPES = ("int8", "int16")
LEFT_SHIFT = 20  # int8: (255 << 20) * 2 still fits the int32 sum
LEFT_SHIFT_INT16 = 15  # int16 with zero point 0: (32768 << 15) * 2 = 2**31 at most before rescaling


def binary_operands(g: Graph, op: Op):
    """Validate the operands of a binary element-wise op (all int8, or all int16 with zero point 0);
    return (x1, x2, y, plan params)."""
    need(len(op.inputs) == 2 and len(op.outputs) == 1,
         f"expected 2 inputs and 1 output, got {len(op.inputs)} and {len(op.outputs)}")
    x1 = need_dtype(g, op.inputs[0], "input1", *DTYPES)
    x2 = need_dtype(g, op.inputs[1], "input2", x1.dtype)
    y = need_dtype(g, op.outputs[0], "output", x1.dtype)
    for t, role in ((x1, "input1"), (x2, "input2"), (y, "output")):
        need_quant(t, role)
        s, z = t.qparams()
        need(s > 0 and np.isfinite(s), f"{role} scale must be positive and finite, got {s}")
        if t.dtype == "int16":
            need(z == 0, f"{role} int16 zero point {z} must be 0 (the int16x8 scheme, as TFLite Micro)")
        else:
            need(-128 <= z <= 127, f"{role} zero point {z} outside int8 range [-128, 127]")
        need(len(t.shape) <= broadcast.MAX_RANK,
             f"{role} has rank {len(t.shape)}; supported: up to {broadcast.MAX_RANK}")
        need(all(d > 0 for d in t.shape), f"{role} shape {t.shape} has an empty dimension")
    try:
        p = broadcast.plan(x1.shape, x2.shape, y.shape)
    except ValueError as e:
        raise OpProblem(str(e)) from None
    return x1, x2, y, broadcast.pack_params(p)


def _multiplier_below_one(real: float, what: str) -> tuple[int, int]:
    # TFLM's QuantizeMultiplierSmallerThanOneExp aborts outside (0, 1): reject at pack time.
    need(0.0 < real < 1.0, f"{what} rescale factor {real:.6g} must be in (0, 1) "
                           "(output scale too small for the input scales)")
    return quantize_multiplier(real)


def add_sub_reals(s1: float, s2: float, so: float, left_shift: int = LEFT_SHIFT):
    """(real1, real2, real_out) in double from the float32 scales, as the reference Prepare:
    twice_max = 2 * max(s1, s2) (exact), real_k = s_k / twice_max,
    real_out = twice_max / (2**left_shift * s_out)."""
    twice = 2.0 * float(max(np.float32(s1), np.float32(s2)))
    return (float(np.float32(s1)) / twice, float(np.float32(s2)) / twice,
            twice / ((1 << left_shift) * float(np.float32(so))))


def prepare_add_sub(g: Graph, op: Op) -> None:
    x1, x2, y, bparams = binary_operands(g, op)
    (s1, z1), (s2, z2), (so, zo) = x1.qparams(), x2.qparams(), y.qparams()
    left = LEFT_SHIFT_INT16 if y.dtype == "int16" else LEFT_SHIFT
    r1, r2, ro = add_sub_reals(s1, s2, so, left)
    m1, sh1 = _multiplier_below_one(r1, "input1")
    m2, sh2 = _multiplier_below_one(r2, "input2")
    mo, sho = _multiplier_below_one(ro, "output")
    lo, hi = act_range(op, y)
    op.kernel_inputs = [op.inputs[0], op.inputs[1]]
    op.params = [-z1, -z2, left, m1, sh1, m2, sh2, zo, mo, sho, lo, hi] + bparams
    op.scratch_bytes = 0


def np_int16_scratch(g: Graph, op: Op, start: int) -> bool:
    """For an int16 op on the numpy set: its scratch (kernels/np/_int16.py, no pair table); False
    for an int8 op."""
    if g.tensors[op.outputs[0]].dtype != "int16":
        return False
    from ...kernels.np._int16 import binary_scratch_bytes
    op.scratch_bytes = binary_scratch_bytes(op.params, start)
    return True


def prepare(g: Graph, op: Op, ks: str) -> None:
    prepare_add_sub(g, op)
    if ks == "np" and not np_int16_scratch(g, op, 12):
        from ...kernels.np.add import table
        from ...kernels.np.broadcast import scratch_bytes
        op.scratch_bytes = scratch_bytes(op.params, 12)
        np_constants(g, op, table(op.params, 1))
