"""LOG_SOFTMAX (int8 -> int8 over the last axis, output scale 16/256 and zero point 127 as
TFLite Micro requires) as its LogSoftmaxQuantized computes it. Per row, with d = max - x in
[0, 255]: the input difference -d rescaled to Q5.26 (PreprocessLogSoftmaxScalingExp's
multiplier, beta 1) and its gemmlowp exp in Q12.19 depend on d alone, so both are tabulated
here for the 256 differences (exp 0 past the diff_min cutoff, where the reference skips the
term). The device sums the exps, takes the fixed-point log (Q5.26), the row's cutoff
max(diff_min - 1, mbqm(log + INT32_MIN, reverse divisor)) and per element
y = clamp(rdbpot(q5[d] - log, 22) + 127) where -d exceeds the cutoff, else -128.
Kernel inputs: [input, q5 (int32, 256), exp_q12 (int32, 256)]; params: [diff_min,
reverse_multiplier, reverse_shift]."""
from __future__ import annotations

import numpy as np

from ..fixedpoint import exp_on_negative_values, mbqm, rdbpot
from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import add_const, need, need_dtype, need_quant
from .softmax import softmax_scaling

DTYPES = ("int8",)
OUT_SCALE = np.float32(16.0 / 256)
OUT_ZP = 127


def tables(in_scale: float):
    """(q5, exp_q12, diff_min, reverse multiplier, reverse shift) for the input scale."""
    mult, shift, diff_min = softmax_scaling(1.0, in_scale)
    # the inverse of the input rescale, as PreprocessLogSoftmaxScalingExp (double)
    rev_mult, rev_shift = quantize_multiplier(float(1 << (31 - shift)) / float(mult))
    q5 = np.zeros(256, np.int32)
    e12 = np.zeros(256, np.int32)
    for d in range(256):
        if -d >= diff_min:  # diff_min bounds |d| << shift below 2**31
            q5[d] = mbqm(-d, mult, shift)
            e12[d] = rdbpot(exp_on_negative_values(int(q5[d]), 5), 12)
    return q5, e12, diff_min, rev_mult, rev_shift


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 1 and len(op.outputs) == 1, "expected 1 input and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    y = need_dtype(g, op.outputs[0], "output", "int8")
    need_quant(x, "input")
    need_quant(y, "output")
    need(len(x.shape) >= 1, "input must have at least one dimension")
    need(tuple(x.shape) == tuple(y.shape), f"input shape {x.shape} and output shape {y.shape} differ")
    need(np.float32(y.scale[0]) == OUT_SCALE and int(y.zero_point[0]) == OUT_ZP,
         f"output quantization must be scale 16/256, zero point 127 (TFLite Micro requires it); "
         f"got scale {float(y.scale[0]):g}, zero point {int(y.zero_point[0])}")
    q5, e12, diff_min, rev_mult, rev_shift = tables(x.qparams()[0])
    op.kernel_inputs = [op.inputs[0], add_const(g, op, "q5", q5), add_const(g, op, "exp_q12", e12)]
    op.params = [max(diff_min, -(1 << 30)), rev_mult, rev_shift]
    op.scratch_bytes = 0
    if ks == "np":
        from ...kernels.np.log_softmax import scratch_bytes
        op.scratch_bytes = scratch_bytes(x.size, x.shape[-1])
