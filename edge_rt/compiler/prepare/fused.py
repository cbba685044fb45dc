"""Fused ops made by compiler passes. Each is prepared by preparing its parts with the
ordinary per-op prepare functions (so the arithmetic is the reference's by construction) and
concatenating their kernel inputs and params.

CONV_2D_ADD   kernel inputs: CONV_2D's 5 + [skip]; params: CONV_2D's 10 + [conv_position]
              + ADD's params (conv_position: 1 if the convolution feeds ADD's first input, else 2).
FULLY_CONNECTED_ADD  likewise with FULLY_CONNECTED's 5 inputs and 3 params.
DS_CONV_2D    kernel inputs: DEPTHWISE_CONV_2D's 5 + 1x1 CONV_2D's 4 (filter, bias, mult, shift);
              params: DEPTHWISE_CONV_2D's 11 + CONV_2D's 10."""
from __future__ import annotations

from ..ir import Graph, Op
from . import conv_2d, depthwise_conv_2d, fully_connected
from .add import prepare_add_sub
from .common import c_ds_band_rows, need, np_constants


def _part(g: Graph, op: Op, key: str) -> Op:
    t, ins, outs, options = op.options[key]
    return Op(t, list(ins), list(outs), dict(options), source=op.source)


def prepare_conv_add(g: Graph, op: Op, ks: str) -> None:
    conv, add = _part(g, op, "conv"), _part(g, op, "add")
    {"CONV_2D": conv_2d, "FULLY_CONNECTED": fully_connected}[conv.type].prepare(g, conv, ks)
    prepare_add_sub(g, add)
    mid = conv.outputs[0]
    pos = 1 if add.inputs[0] == mid else 2
    skip = add.inputs[1] if pos == 1 else add.inputs[0]
    need(g.tensors[skip].shape == g.tensors[op.outputs[0]].shape == g.tensors[mid].shape,
         "residual fusion needs equal conv, skip and output shapes")
    op.kernel_inputs = conv.kernel_inputs + [skip]
    op.params = conv.params + [pos] + add.params
    if ks == "np":  # conv output in scratch, then the ADD (its index scratch reuses the conv's)
        from ...kernels.np.add import table
        from ...kernels.np.broadcast import scratch_bytes as add_scratch
        # the parts' np-only constants go last, after skip: [conv's 5, skip, conv's, ADD table]
        op.kernel_inputs = conv.kernel_inputs[:5] + [skip] + conv.kernel_inputs[5:]
        np_constants(g, op, table(add.params, 1))
        op.scratch_bytes = (g.tensors[mid].nbytes + 15) // 16 * 16 + max(conv.scratch_bytes,
                                                                         add_scratch(add.params, 12))
    elif ks == "c":  # the convolution's scratch (each row is added to skip as it is made); its packing
        op.kernel_inputs = conv.kernel_inputs[:5] + [skip] + conv.kernel_inputs[5:]
        op.scratch_bytes = conv.scratch_bytes


def prepare_ds_conv(g: Graph, op: Op, ks: str) -> None:
    dw, pw = _part(g, op, "depthwise"), _part(g, op, "pointwise")
    depthwise_conv_2d.prepare(g, dw, "ref" if ks == "c" else ks)  # c: streams the depthwise rows itself
    conv_2d.prepare(g, pw, ks)
    mid = g.tensors[dw.outputs[0]]
    need(pw.params[:6] == [1, 1, 1, 1, 0, 0], "the pointwise part must be a 1x1 stride-1 convolution")
    op.kernel_inputs = dw.kernel_inputs + pw.kernel_inputs[1:]
    op.params = dw.params + pw.params
    n, oh, ow, c = mid.shape
    if ks == "np":  # depthwise into scratch, then the pointwise GEMM
        # the parts' np-only constants go last: [dw's 5, pw's 4, dw's, pw's]
        op.kernel_inputs = dw.kernel_inputs[:5] + pw.kernel_inputs[1:5] + dw.kernel_inputs[5:] + pw.kernel_inputs[5:]
        op.scratch_bytes = (mid.nbytes + 15) // 16 * 16 + max(dw.scratch_bytes, pw.scratch_bytes)
    else:  # one depthwise output row, plus the input rows an in-place write would clobber
        x = g.tensors[op.inputs[0]]
        rows = max(dw.params[4], 1)  # pad_top rows may be re-read after an in-place write
        ring = (rows * x.shape[2] * x.shape[3] + 15) // 16 * 16
        # ref: exact in place needs equal shapes (planner.SAME_SHAPE_ONLY), otherwise no ring;
        # the viper kernel always lays its band out after a ring (kernels/viper/ds_conv.py)
        same = tuple(x.shape) == tuple(g.tensors[op.outputs[0]].shape)
        op.scratch_bytes = (ring if same or ks == "viper" else 0) + ow * c
        if ks == "c":  # ring (equal shapes: in place), band of R rows read in 4-byte groups (kernels/c/ds_conv.c)
            band = c_ds_band_rows(g.tensors[op.outputs[0]].shape[3], ow, oh, c) * ow * c
            op.scratch_bytes = (ring if same else 0) + (band + 3 + 15) // 16 * 16
            op.kernel_inputs = op.kernel_inputs + pw.kernel_inputs[5:7]
