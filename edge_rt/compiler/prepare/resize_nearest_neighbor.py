"""RESIZE_NEAREST_NEIGHBOR (int8, int16, float32 as TFLite Micro; NHWC): output pixel (i, j)
is input pixel (rows[i], cols[j]). Kernel inputs: [input, rows (int32, OH), cols (int32, OW)]
(+ for the numpy set the flat pixel table rows[i] * W + cols[j], OH*OW int32); params:
[N, H, W, C, OH, OW]. The size input must be constant (TFLite Micro has no dynamic shapes).

The source index is TFLite's, in float32 as its C++ computes it:
  scale = (in - 1) / (out - 1) if align_corners and out > 1 else in / out
  v = (i + (0.5 if half_pixel_centers else 0)) * scale
  src = min(round-half-away(v) if align_corners else floor(v), in - 1), and >= 0 with
  half_pixel_centers. Values move unchanged (the output quantization is not consulted)."""
import numpy as np

from ..ir import Graph, Op
from .common import add_const, np_constants, resize_operands

DTYPES = ("int8", "int16", "float32")


def source_index(n_out: int, n_in: int, align_corners: bool, half_pixel: bool) -> np.ndarray:
    f = np.float32
    if align_corners and n_out > 1:
        scale = f(n_in - 1) / f(n_out - 1)
    else:
        scale = f(n_in) / f(n_out)
    v = (np.arange(n_out).astype(f) + f(0.5 if half_pixel else 0.0)) * scale
    v = v.astype(f)
    src = np.floor(v)
    if align_corners:  # std::round, half away from zero (v >= 0); v - floor(v) is exact
        src = src + (v - src >= f(0.5))
    src = np.minimum(src.astype(np.int64), n_in - 1)
    if half_pixel:
        src = np.maximum(src, 0)
    return src.astype(np.int32)


def prepare(g: Graph, op: Op, ks: str) -> None:
    x, n, h, w, c, oh, ow, ac, hp = resize_operands(g, op, DTYPES)
    rows = source_index(oh, h, ac, hp)
    cols = source_index(ow, w, ac, hp)
    op.kernel_inputs = [op.inputs[0], add_const(g, op, "rows", rows), add_const(g, op, "cols", cols)]
    op.params = [n, h, w, c, oh, ow]
    if ks == "np":
        np_constants(g, op, (rows.astype(np.int64)[:, None] * w + cols[None, :]).astype(np.int32).reshape(-1))
