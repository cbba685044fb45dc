"""MEAN (int8) as TFLite Micro computes it: for every int8 case, including the 4-D mean over
axes (1, 2) and different input/output quantization, TFLite Micro runs
reference_ops::QuantizedMeanOrSum (reduce.h; its former integer_ops::Mean special path is
no longer used for int8):

1. sum = sum of the raw int8 values over the reduced axes (int32);
   num = product of the reduced dims.
2. (mult, shift) = QuantizeMultiplier(double(in_scale) / double(out_scale)).
3. s = min(floor(log2(num)), 32, 31 + shift); mult' = (mult << s) / num (int64, truncating);
   shift' = shift - s: the 1/num factor folded into the multiplier.
4. out = clamp(MultiplyByQuantizedMultiplier(sum - in_zp * num, mult', shift') + out_zp,
   -128, 127); keep_dims only changes the output's shape.

Kernel inputs: [input]; params: [mult', shift', out_zp, -in_zp * num, ndim, dims.., reduced..]
where dims is the input shape with size-1 dims dropped and neighbouring dims of the same kind
(reduced or kept) merged, and reduced holds one 0/1 flag per merged dim. The output's
elements are the kept merged dims in row-major order."""
import numpy as np

from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import need, need_const, need_dtype, need_quant


def merged_dims(shape, axes):
    """(dims, flags): drop size-1 dims, merge neighbours of the same kind; at least one dim."""
    dims, flags = [], []
    for d, size in enumerate(shape):
        if size == 1:
            continue
        red = 1 if d in axes else 0
        if flags and flags[-1] == red:
            dims[-1] *= size
        else:
            dims.append(size)
            flags.append(red)
    return (dims, flags) if dims else ([1], [0])


def mean_multiplier(in_scale: float, out_scale: float, num: int) -> tuple[int, int]:
    mult, shift = quantize_multiplier(float(np.float64(np.float32(in_scale)) / np.float64(np.float32(out_scale))))
    s = min(num.bit_length() - 1, 32, 31 + shift)
    return (mult << s) // num, shift - s


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 2 and len(op.outputs) == 1, "expected 2 inputs (input, axis) and 1 output")
    x = need_dtype(g, op.inputs[0], "input", "int8")
    y = need_dtype(g, op.outputs[0], "output", "int8")
    need_quant(x, "input"); need_quant(y, "output")
    at = need_dtype(g, op.inputs[1], "axis", "int32")
    # an empty axis list has no buffer to read; it reduces nothing (a plain requantization)
    raw_axes = [] if at.size == 0 else need_const(g, op.inputs[1], "axis").reshape(-1).tolist()
    rank = len(x.shape)
    axes = []
    for a in raw_axes:
        r = a + rank if a < 0 else a
        need(0 <= r < rank, f"axis {a} out of range for a {rank}-D input")
        if r not in axes:
            axes.append(r)
    need(x.size > 0, f"empty input shape {x.shape} not supported")
    num = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if op.options.get("keep_dims", False):
        want = tuple(1 if d in axes else s for d, s in enumerate(x.shape))
    else:
        want = tuple(s for d, s in enumerate(x.shape) if d not in axes)
    need(tuple(y.shape) == want, f"output shape {tuple(y.shape)} != computed {want}")
    in_scale, in_zp = x.qparams()
    out_scale, out_zp = y.qparams()
    mult, shift = mean_multiplier(in_scale, out_scale, num)
    dims, flags = merged_dims(x.shape, axes)
    op.kernel_inputs = [op.inputs[0]]
    op.params = [mult, shift, out_zp, -in_zp * num, len(dims)] + dims + flags
    if ks == "np":
        from ...kernels.np.mean import scratch_bytes
        op.scratch_bytes = scratch_bytes(x.size, y.size, num, -in_zp * num)
