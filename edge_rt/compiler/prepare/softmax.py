"""SOFTMAX (int8 -> int8, over the last axis) as TFLite Micro's reference kernel computes it.

Per row the reference takes d = max - x in [0, 255], rescales d by beta * input_scale into
Q5.26, and evaluates gemmlowp's fixed-point exp. That exp depends on d alone, so it is
tabulated here for all 256 differences (0 where d exceeds the reference's diff_min cutoff:
those outputs are -128 either way). The device still sums, takes the fixed-point reciprocal
and rescales per row. Kernel inputs: [input, exp(int32 Q0.31, 256), exp(int32 Q12.19, 256)]
indexed by d; no params."""
from __future__ import annotations

import numpy as np

from ..fixedpoint import exp_on_negative_values, input_radius, rdbpot, srdhm, wrap32
from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import add_const, need, need_dtype, need_quant

SCALED_DIFF_INTEGER_BITS = 5   # exp input format Q5.26
ACCUM_INTEGER_BITS = 12        # sum of exps format Q12.19


def softmax_scaling(beta: float, in_scale: float) -> tuple[int, int, int]:
    """(multiplier, left_shift, diff_min) as PreprocessSoftmaxScaling / CalculateInputRadius
    (double rounding build: the real multiplier is capped at 2**31 - 1)."""
    real = min(beta * in_scale * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)), float((1 << 31) - 1))
    need(real > 1.0, f"beta * input scale = {beta * in_scale:g} is too small; TFLite Micro "
                     f"requires it above 2^-26")
    mult, shift = quantize_multiplier(real)
    return mult, shift, -input_radius(SCALED_DIFF_INTEGER_BITS, shift)


def exp_tables(beta: float, in_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """exp(-d * beta * in_scale) for d = 0..255 in Q0.31, and the same rescaled to Q12.19
    (gemmlowp Rescale<12>, the term the reference adds to its sum)."""
    mult, shift, diff_min = softmax_scaling(beta, in_scale)
    q31 = np.zeros(256, np.int32)
    for d in range(256):
        if -d >= diff_min:
            # |d| << shift cannot overflow: diff_min bounds it below 2**31
            q31[d] = exp_on_negative_values(srdhm(wrap32(-d << shift), mult), SCALED_DIFF_INTEGER_BITS)
    q12 = np.array([rdbpot(int(e), ACCUM_INTEGER_BITS) for e in q31], np.int32)
    return q31, q12


def prepare(g: Graph, op: Op, ks: str) -> None:
    x = need_dtype(g, op.inputs[0], "input", "int8")
    y = need_dtype(g, op.outputs[0], "output", "int8")
    need_quant(x, "input"); need_quant(y, "output")
    need(len(x.shape) >= 1, "input must have at least one dimension")
    need(tuple(x.shape) == tuple(y.shape), f"input shape {x.shape} and output shape {y.shape} differ")
    out_scale, out_zp = y.qparams()
    need(out_zp == -128 and out_scale == 1.0 / 256,
         f"output quantization must be scale 1/256, zero point -128 (TFLite Micro requires it); "
         f"got scale {out_scale:g}, zero point {out_zp}")
    beta = float(op.options.get("beta", 1.0))
    q31, q12 = exp_tables(beta, x.qparams()[0])
    op.kernel_inputs = [op.inputs[0], add_const(g, op, "exp_q31", q31), add_const(g, op, "exp_q12", q12)]
    op.params = []
    if ks == "np":
        from ...kernels.np.softmax import scratch_bytes
        op.scratch_bytes = scratch_bytes(x.shape[-1])
