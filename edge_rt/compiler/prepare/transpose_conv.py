"""TRANSPOSE_CONV (int8 as TFLite Micro: per-channel or per-tensor int8 weights OHWI, optional
int32 bias, SAME/VALID padding, strides; dilation is always 1). TFLite's inputs are
[output_shape, filter, input, bias?]; the output shape tensor is not read (TFLite Micro has no
dynamic shapes: the output tensor's shape rules). The reference scatters every input pixel
through the filter into an int32 scratch of the output's size:
  acc[b, iy*sh - pad_h + fy, ix*sw - pad_w + fx, oc] += (x[b, iy, ix, ic] + in_off) * w[oc, fy, fx, ic]
(targets outside the output skipped), then y = clamp(mbqm(acc + bias[oc]) + z_out) per channel.
The padding is TFLite's for a convolution from the output's size: ComputePaddingHeightWidth
(stride, dilation 1, output H/W, filter H/W). The multipliers are those of CONV_2D
(in_scale * w_scale[c] / out_scale in double).
Kernel inputs: [input, filter (OC, FH, FW, IC), bias (int32 OC, zeros when absent),
multiplier (OC), shift (OC)]; params: [stride_h, stride_w, pad_h, pad_w, input_offset,
output_offset, act_min, act_max]."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from .common import (act_range, add_const, channel_requant, need, need_const, need_dtype, need_quant,
                     same_or_valid)

DTYPES = ("int8",)


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) in (3, 4) and len(op.outputs) == 1,
         "expected 3 or 4 inputs (output_shape, filter, input, bias) and 1 output")
    w = need_dtype(g, op.inputs[1], "filter", "int8")
    x = need_dtype(g, op.inputs[2], "input", *DTYPES)
    y = need_dtype(g, op.outputs[0], "output", "int8")
    wd = need_const(g, op.inputs[1], "filter")
    need_quant(x, "input")
    need_quant(y, "output")
    need_quant(w, "filter", per_channel_ok=True)
    need(wd.ndim == 4, f"filter must be 4-D OHWI, got shape {wd.shape}")
    need(len(x.shape) == 4 and len(y.shape) == 4, f"input {x.shape} and output {y.shape} must be 4-D NHWC")
    oc, fh, fw, ic = (int(d) for d in wd.shape)
    n, ih, iw, c_in = (int(d) for d in x.shape)
    yn, oh, ow, yc = (int(d) for d in y.shape)
    need(c_in == ic, f"input has {c_in} channels, filter expects {ic}")
    need(yn == n and yc == oc, f"output shape {tuple(y.shape)} does not match batch {n} and {oc} filter outputs")
    need(w.quant_dim == 0 or len(w.scale) == 1, f"filter quantized along axis {w.quant_dim}; supported: 0 (output channels)")
    need(not np.any(w.zero_point), "filter zero point must be 0 (symmetric int8)")
    o = op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    need(sh >= 1 and sw >= 1, f"strides ({sh},{sw}) must be >= 1")
    padding = o.get("padding", "SAME")
    _, pad_h = same_or_valid(padding, oh, fh, sh, 1)
    _, pad_w = same_or_valid(padding, ow, fw, sw, 1)
    bias = np.zeros(oc, np.int64)
    if len(op.inputs) > 3 and op.inputs[3] >= 0:
        need_dtype(g, op.inputs[3], "bias", "int32")
        bias = need_const(g, op.inputs[3], "bias").astype(np.int64).reshape(-1)
        need(bias.size == oc, f"bias has {bias.size} values for {oc} output channels")
    # the reference sums in int32; bound every output's sum so no kernel set has to wrap
    bound = int(np.abs(bias).max(initial=0)) + 255 * 128 * fh * fw * ic
    need(bound < 1 << 31, f"filter of {fh}x{fw}x{ic} taps: the int32 accumulator could overflow")
    xs, xz = x.qparams()
    ys, yz = y.qparams()
    mult, shift = channel_requant(g, op, xs, w, ys, oc)
    need(int(g.tensors[shift].data.max(initial=0)) <= 30, "rescale factor too large (output scale too small)")
    lo, hi = act_range(op, y)
    op.kernel_inputs = [op.inputs[2], op.inputs[1], add_const(g, op, "bias", bias.astype(np.int32)), mult, shift]
    op.params = [sh, sw, pad_h, pad_w, -xz, yz, lo, hi]
    op.scratch_bytes = 0
    if ks == "np":
        from ...kernels.np.transpose_conv import scratch_bytes
        op.scratch_bytes = scratch_bytes(x.shape, y.shape)
