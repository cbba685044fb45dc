"""CONV_2D (int8, per-channel or per-tensor weights; int16x8: int16 activations, int8 weights,
int64 or int32 bias). Kernel inputs:
[input, filter(OC,KH,KW,IC), folded_bias(OC), multiplier(OC), shift(OC)] (int16x8: the bias
itself, int64 or int32); params: [stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
         input_zero_point, output_offset, act_min, act_max] (int16x8: zero point and offset 0)."""
import numpy as np

from ..ir import Graph, Op
from .common import (c_constants, c_conv_weights, c_patch_scratch, int16_tail, need, need_const, need_dtype,
                     need_quant, np_constants, requant_values, same_or_valid, weighted_op)

DTYPES = ("int8", "int16x8")


def conv_geometry(op: Op, xshape, kh: int, kw: int):
    o = op.options
    need(len(xshape) == 4, f"input must be 4-D NHWC, got shape {xshape}")
    sh, sw = o.get("stride_h", 1), o.get("stride_w", 1)
    dh, dw = o.get("dilation_h", 1), o.get("dilation_w", 1)
    need(min(sh, sw, dh, dw) >= 1, f"strides ({sh},{sw}) and dilations ({dh},{dw}) must be >= 1")
    if o.get("padding") == "EXPLICIT":  # set by the fold_pad pass: (top, bottom, left, right)
        pt, pb, pl, pr = o["pad"]
        oh = (xshape[1] + pt + pb - ((kh - 1) * dh + 1)) // sh + 1
        ow = (xshape[2] + pl + pr - ((kw - 1) * dw + 1)) // sw + 1
        return sh, sw, dh, dw, oh, ow, pt, pl
    oh, pt = same_or_valid(o.get("padding", "VALID"), xshape[1], kh, sh, dh)
    ow, pl = same_or_valid(o.get("padding", "VALID"), xshape[2], kw, sw, dw)
    return sh, sw, dh, dw, oh, ow, pt, pl


def prepare(g: Graph, op: Op, ks: str) -> None:
    x = need_dtype(g, op.inputs[0], "input", "int8", "int16")
    w = need_dtype(g, op.inputs[1], "filter", "int8")
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    wd = need_const(g, op.inputs[1], "filter")
    need_quant(x, "input"); need_quant(y, "output"); need_quant(w, "filter", per_channel_ok=True)
    need(wd.ndim == 4, f"filter must be 4-D OHWI, got shape {wd.shape}")
    oc, kh, kw, ic = wd.shape
    need(x.shape[3] == ic, f"input has {x.shape[3]} channels, filter expects {ic} "
                           "(grouped convolution not supported)")
    sh, sw, dh, dw, oh, ow, pt, pl = conv_geometry(op, x.shape, kh, kw)
    need(tuple(y.shape) == (x.shape[0], oh, ow, oc),
         f"output shape {tuple(y.shape)} != computed {(x.shape[0], oh, ow, oc)}")
    if x.dtype == "int16":
        need(ks in ("np", "ref"), f"int16 activations run on the np and ref kernels, not {ks}")
        lo, hi = int16_tail(g, op, x, w, y, np.abs(wd.astype(np.int64)).reshape(oc, -1).sum(axis=1))
        op.params = [sh, sw, dh, dw, pt, pl, 0, 0, lo, hi]
        if ks == "np":
            from ...kernels.np._wide import conv_scratch
            op.scratch_bytes = conv_scratch(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl)
        return
    in_zp, out_zp, lo, hi, folded = weighted_op(g, op, x, w, y, wd.astype(np.int64).reshape(oc, -1).sum(axis=1))
    op.params = [sh, sw, dh, dw, pt, pl, in_zp, out_zp, lo, hi]
    if ks == "np":
        from ...kernels.np.conv_2d import constants, scratch_bytes
        op.scratch_bytes = scratch_bytes(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl,
                                         wd.reshape(oc, -1), folded)
        np_constants(g, op, constants(wd, folded, *requant_values(g, op), op.params))
    elif ks == "c":  # patches of pixels (none for an in-bounds 1x1); packed weights
        op.scratch_bytes = c_patch_scratch(op.params, x.shape, y.shape, kh, kw, oc)
        c_constants(g, op, c_conv_weights(op.params, x.shape, y.shape, wd))
