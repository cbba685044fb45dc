"""AVERAGE_POOL_2D (int8, int16). Kernel inputs: [input] (+ the numpy set's rounding table, int8
only); params: [stride_h, stride_w, filter_h, filter_w, pad_top, pad_left, act_min, act_max].
Shared with MAX_POOL_2D through pool_prepare. int16 is TFLite Micro's int16 pooling: the int8
algorithm on int16 values (an int32 sum, the same rounding division, the activation clamped on
the int16 grid)."""
import numpy as np

from ..ir import Graph, Op
from .common import act_range, need, need_dtype, need_quant, np_constants, same_or_valid

DTYPES = ("int8", "int16")


def _valid_taps(out_size: int, in_size: int, stride: int, pad: int, filt: int) -> np.ndarray:
    """Per output position along one axis: how many filter taps land inside the input."""
    o = np.arange(out_size) * stride - pad
    return np.minimum(filt, in_size - o) - np.maximum(0, -o)


def pool_prepare(g: Graph, op: Op, ks: str, average: bool) -> None:
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    need_quant(x, "input"); need_quant(y, "output")
    need(len(x.shape) == 4, f"input must be 4-D NHWC, got shape {x.shape}")
    in_scale, in_zp = x.qparams()
    out_scale, out_zp = y.qparams()
    # TFLite Micro's PoolingPrepare: |in - out| <= 1e-6 on the float32 scales, equal zero points.
    diff = abs(float(np.float32(in_scale) - np.float32(out_scale)))
    need(diff <= 1e-6 and in_zp == out_zp,
         "input and output quantization must be equal (TFLite Micro requires it); "
         f"got scale {in_scale:g}/{out_scale:g}, zero point {in_zp}/{out_zp}")
    o = op.options
    sh, sw = o.get("stride_h", 1), o.get("stride_w", 1)
    fh, fw = o.get("filter_h", 1), o.get("filter_w", 1)
    need(min(sh, sw) >= 1 and min(fh, fw) >= 1,
         f"strides ({sh},{sw}) and filter ({fh},{fw}) must be >= 1")
    oh, pt = same_or_valid(o.get("padding", "VALID"), x.shape[1], fh, sh, 1)
    ow, pl = same_or_valid(o.get("padding", "VALID"), x.shape[2], fw, sw, 1)
    want = (x.shape[0], oh, ow, x.shape[3])
    need(oh >= 1 and ow >= 1 and tuple(y.shape) == want,
         f"output shape {tuple(y.shape)} != computed {want}")
    if average:
        # The reference fails at run time on a window with no valid tap (division by 0).
        ny = _valid_taps(oh, x.shape[1], sh, pt, fh)
        nx = _valid_taps(ow, x.shape[2], sw, pl, fw)
        need(ny.min() > 0 and nx.min() > 0, "a pooling window lies entirely in the padding")
        # the reference sums in int32: 65,535 taps of -32768 still fit
        need(x.dtype != "int16" or fh * fw <= 65535, f"filter {fh}x{fw} has more than 65,535 taps "
                                                    "(the int16 sum would overflow int32)")
    lo, hi = act_range(op, y)
    op.kernel_inputs = [op.inputs[0]]
    op.params = [sh, sw, fh, fw, pt, pl, lo, hi]
    if ks == "np":
        from ...kernels.np._pool import scratch_bytes
        op.scratch_bytes = scratch_bytes(x.shape, y.shape, op.params, average, x.dtype == "int16")
        if average and x.dtype == "int8":  # the rounding table, computed here once instead of at every load
            from ...kernels.np.average_pool_2d import table
            lut = table(x.shape, y.shape, op.params)
            if lut is not None:
                np_constants(g, op, lut)


def prepare(g: Graph, op: Op, ks: str) -> None:
    pool_prepare(g, op, ks, average=True)
