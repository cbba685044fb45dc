"""RESIZE_BILINEAR (int8 as TFLite Micro's ResizeBilinearInteger; NHWC, constant size): every
source coordinate in fixed point with a 10-bit fraction, computed here at pack time with the
reference's integer steps (C division truncating toward zero):
  scale = (1024 * in + out // 2) // out, or with align_corners and out > 1
          (1024 * (in - 1) + (out - 1) // 2) // (out - 1)
  v = i * scale, or with half_pixel_centers i * scale + scale // 2 - 512
  lo = max(v / 1024, 0), hi = min((v + 1023) / 1024, in - 1), weight w = v - 1024 * lo
and output = round-half-away(sum of the four pixels times (1024 - wy or wy)(1024 - wx or wx)
/ 2**20). Values are interpolated raw: the output quantization is not consulted, as in the
reference. A lo beyond in - 1 (large upsampling factors round the scale up) makes the
reference read outside the input: rejected.
Kernel inputs: [input, rows (int32 (OH, 3): lo * W * C, hi * W * C, wy), cols (int32 (OW, 3):
lo * C, hi * C, wx)] (+ for the numpy set pixel indices (4, OH*OW) and weights (4, OH*OW));
params: [N, H, W, C, OH, OW]."""
from __future__ import annotations

import numpy as np

from ...kernels.quant import c_div
from ..ir import Graph, Op
from .common import add_const, need, np_constants, resize_operands

DTYPES = ("int8",)
ONE = 1 << 10


def source_coords(n_out: int, n_in: int, align_corners: bool, half_pixel: bool, axis: str):
    """[(lo, hi, weight)] per output index, as ComputeInterpolationValuesInteger."""
    if align_corners and n_out > 1:
        scale = (ONE * (n_in - 1) + (n_out - 1) // 2) // (n_out - 1)
    else:
        scale = (ONE * n_in + n_out // 2) // n_out
    out = []
    for i in range(n_out):
        v = i * scale + (scale // 2 - (1 << 9) if half_pixel else 0)
        lo = max(c_div(v, ONE), 0)
        hi = min(c_div(v + ONE - 1, ONE), n_in - 1)
        need(lo <= n_in - 1, f"{axis} {n_in} -> {n_out}: source index {lo} of output {i} is outside the input "
                             "(the reference reads past it); use a smaller upsampling factor")
        out.append((lo, hi, v - ONE * lo))
    return out


def prepare(g: Graph, op: Op, ks: str) -> None:
    x, n, h, w, c, oh, ow, ac, hp = resize_operands(g, op, DTYPES)
    need(not (ac and hp), "align_corners and half_pixel_centers are both set (the reference allows one)")
    rows = source_coords(oh, h, ac, hp, "height")
    cols = source_coords(ow, w, ac, hp, "width")
    rt = np.array([(lo * w * c, hi * w * c, wt) for lo, hi, wt in rows], np.int32).reshape(oh, 3)
    ct = np.array([(lo * c, hi * c, wt) for lo, hi, wt in cols], np.int32).reshape(ow, 3)
    op.kernel_inputs = [op.inputs[0], add_const(g, op, "rows", rt), add_const(g, op, "cols", ct)]
    op.params = [n, h, w, c, oh, ow]
    op.scratch_bytes = 0
    if ks == "np":
        # the four taps of each output pixel: (lo, lo), (hi, lo), (lo, hi), (hi, hi) as
        # (row, col), pixel index row * W + col, weight the product of the two 1-D weights
        idx = np.zeros((4, oh * ow), np.int32)
        wts = np.zeros((4, oh * ow), np.int32)
        k = 0
        for ylo, yhi, wy in rows:
            for xlo, xhi, wx in cols:
                for t, (r, cl, wt) in enumerate(((ylo, xlo, (ONE - wy) * (ONE - wx)), (yhi, xlo, wy * (ONE - wx)),
                                                  (ylo, xhi, (ONE - wy) * wx), (yhi, xhi, wy * wx))):
                    idx[t, k] = r * w + cl
                    wts[t, k] = wt
                k += 1
        np_constants(g, op, idx)
        np_constants(g, op, wts)
        from ...kernels.np.resize_bilinear import scratch_bytes
        op.scratch_bytes = scratch_bytes(h, w, c, oh, ow)
