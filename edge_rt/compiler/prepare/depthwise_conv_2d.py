"""DEPTHWISE_CONV_2D (int8; int16x8: int16 activations, int8 weights, int64 bias). Output
channel c reads input channel c // depth_multiplier.
Kernel inputs: [input, filter(1,KH,KW,OC), folded_bias(OC), multiplier(OC), shift(OC)] (int16x8:
the int64 bias itself); params: as CONV_2D plus depth_multiplier."""
import numpy as np

from ..ir import Graph, Op
from .common import (c_constants, int16_tail, need, need_const, need_dtype, need_quant, np_constants, requant_values,
                     weighted_op)
from .conv_2d import conv_geometry

DTYPES = ("int8", "int16x8")


def prepare(g: Graph, op: Op, ks: str) -> None:
    x = need_dtype(g, op.inputs[0], "input", "int8", "int16")
    w = need_dtype(g, op.inputs[1], "filter", "int8")
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    wd = need_const(g, op.inputs[1], "filter")
    need_quant(x, "input"); need_quant(y, "output"); need_quant(w, "filter", per_channel_ok=True)
    need(wd.ndim == 4 and wd.shape[0] == 1, f"filter must be 1xKHxKWxOC, got shape {wd.shape}")
    _, kh, kw, oc = wd.shape
    ic = x.shape[3]
    need(oc % ic == 0, f"filter has {oc} channels, not a multiple of the input's {ic}")
    dm = op.options.get("depth_multiplier", 1)
    need(dm == oc // ic, f"depth_multiplier {dm} must equal output channels / input channels "
                         f"= {oc // ic} (the reference computes garbage otherwise)")
    sh, sw, dh, dw, oh, ow, pt, pl = conv_geometry(op, x.shape, kh, kw)
    need(tuple(y.shape) == (x.shape[0], oh, ow, oc),
         f"output shape {tuple(y.shape)} != computed {(x.shape[0], oh, ow, oc)}")
    if x.dtype == "int16":  # TFLite Micro's int16 depthwise reads the bias as int64 only
        need(ks in ("np", "ref"), f"int16 activations run on the np and ref kernels, not {ks}")
        lo, hi = int16_tail(g, op, x, w, y, np.abs(wd.astype(np.int64)).reshape(-1, oc).sum(axis=0), int32_bias=False)
        op.params = [sh, sw, dh, dw, pt, pl, 0, 0, lo, hi, dm]
        if ks == "np":
            from ...kernels.np._wide import depthwise_scratch
            op.scratch_bytes = depthwise_scratch(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl)
        return
    in_zp, out_zp, lo, hi, folded = weighted_op(g, op, x, w, y, wd.astype(np.int64).reshape(-1, oc).sum(axis=0))
    op.params = [sh, sw, dh, dw, pt, pl, in_zp, out_zp, lo, hi, dm]
    if ks == "np":
        from ...kernels.np.depthwise_conv_2d import constants, scratch_bytes
        op.scratch_bytes = scratch_bytes(x.shape, y.shape, kh, kw, dh, dw, sh, sw, pt, pl,
                                         wd.reshape(-1, oc).T, folded)
        np_constants(g, op, constants(wd, folded, *requant_values(g, op), op.params))
    elif ks == "c":  # no scratch (accumulators in registers); the packed transposed filter (ABI slot)
        op.scratch_bytes = 0
        # each filter row padded with zero taps to whole 4-tap groups: the one-input-channel VNNI
        # kernel (kernels/c/ert_dw1.h) reads a group from one input row
        rows = np.zeros((kh, -(-kw // 4) * 4, oc), np.int8)
        rows[:, :kw] = wd[0]
        c_constants(g, op, rows.reshape(-1, oc).T)
