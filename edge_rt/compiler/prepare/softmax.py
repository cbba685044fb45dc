"""SOFTMAX (int8 -> int8 or int16, over the last axis) as TFLite Micro's reference kernel computes it.

Per row the reference takes d = max - x in [0, 255], rescales d by beta * input_scale into
Q5.26, and evaluates gemmlowp's fixed-point exp. That exp depends on d alone, so it is
tabulated here for all 256 differences (0 where d exceeds the reference's diff_min cutoff:
those outputs are -128 either way). The device still sums, takes the fixed-point reciprocal
and rescales per row. Kernel inputs: [input, exp(int32 Q0.31, 256), exp(int32 Q12.19, 256)]
indexed by d; no params. An int16 output (zero point -32768, scale 1/65536) takes the same
steps with 16 output bits: the final rescale by 2**(bits_over_unit + 15), offset -32768.

int16 (zero points 0, output scale 1/32768) follows SoftmaxInt16: d = x - max is rescaled by
mbqm so that [-65535, 0] spans [-10, 0], looked up in TFLite's interpolated exp table, and the
row is scaled by an interpolated 1/(1+x) table read at its normalized sum. Both 513-entry
tables are LUTPopulate's float32 arithmetic replayed here (compiler/act16.py). Kernel inputs:
[input, exp table (int16, 513), 1/(1+x) table (int16, 513), multiplier (int32, 1)];
params: [shift, lowest difference (lower ones read the same exp)]."""
from __future__ import annotations

import numpy as np

from ..fixedpoint import exp_on_negative_values, input_radius, rdbpot, srdhm, wrap32
from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import add_const, need, need_dtype, need_quant

DTYPES = ("int8", "int16", "int8→int16")
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
    if g.tensors[op.inputs[0]].dtype == "int16":
        return prepare_int16(g, op, ks)
    x = need_dtype(g, op.inputs[0], "input", "int8")
    y = need_dtype(g, op.outputs[0], "output", "int8", "int16")
    need_quant(x, "input"); need_quant(y, "output")
    need(len(x.shape) >= 1, "input must have at least one dimension")
    need(tuple(x.shape) == tuple(y.shape), f"input shape {x.shape} and output shape {y.shape} differ")
    out_scale, out_zp = y.qparams()
    if y.dtype == "int16":  # TF_LITE_ENSURE_NEAR in float32
        f32 = np.float32
        near = abs(f32(out_scale) - f32(1.0) / f32(65536)) <= f32(0.001) * f32(1.0) / f32(65536)
        need(out_zp == -32768 and near, f"int16 output quantization must be scale 1/65536, zero point -32768 "
                                        f"(TFLite Micro requires it); got scale {out_scale:g}, zero point {out_zp}")
    else:
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


def prepare_int16(g: Graph, op: Op, ks: str) -> None:
    from ..act16 import softmax16_diff_params, softmax16_lowest_diff, softmax_luts
    x = need_dtype(g, op.inputs[0], "input", "int16")
    y = need_dtype(g, op.outputs[0], "output", "int16")
    need_quant(x, "input"); need_quant(y, "output")
    need(len(x.shape) >= 1, "input must have at least one dimension")
    need(tuple(x.shape) == tuple(y.shape), f"input shape {x.shape} and output shape {y.shape} differ")
    in_scale, in_zp = x.qparams()
    out_scale, out_zp = y.qparams()
    need(in_zp == 0, f"int16 input zero point must be 0 (TFLite Micro requires it); got {in_zp}")
    # TF_LITE_ENSURE_NEAR in float32
    f32 = np.float32
    near = abs(f32(out_scale) - f32(1.0) / f32(32768)) <= f32(0.001) * f32(1.0) / f32(32768)
    need(out_zp == 0 and near, f"output quantization must be scale 1/32768, zero point 0 (TFLite Micro "
                               f"requires it); got scale {out_scale:g}, zero point {out_zp}")
    # the row sum of Q0.15 exps is an int32 in the reference
    need(x.shape[-1] <= 65536, f"rows of {x.shape[-1]} values not supported; supported: up to 65536")
    mult, shift = softmax16_diff_params(in_scale, float(op.options.get("beta", 1.0)))
    exp_lut, rec_lut = softmax_luts()
    op.kernel_inputs = [op.inputs[0], add_const(g, op, "exp_lut16", exp_lut),
                        add_const(g, op, "recip_lut16", rec_lut),
                        add_const(g, op, "multiplier", np.array([mult], np.int32))]
    op.params = [shift, softmax16_lowest_diff(mult, shift)]
    if ks == "np":
        from ...kernels.np.softmax import scratch_bytes16
        op.scratch_bytes = scratch_bytes16(x.shape[-1])
