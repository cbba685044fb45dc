"""FULLY_CONNECTED (int8): folds the input zero point into the bias and precomputes the
requantization. Kernel inputs: [input, weights(N,K), folded_bias(N), multiplier(N), shift(N)];
params: [output_offset, act_min, act_max]."""
import numpy as np

from ..ir import Graph, Op
from .common import (act_range, add_const, channel_requant, need, need_const, need_dtype,
                     need_quant, wrap_int32)


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(op.options.get("weights_format", 0) == 0, "shuffled weights format not supported; supported: DEFAULT")
    x = need_dtype(g, op.inputs[0], "input", "int8")
    w = need_dtype(g, op.inputs[1], "weights", "int8")
    y = need_dtype(g, op.outputs[0], "output", "int8")
    wd = need_const(g, op.inputs[1], "weights")
    need_quant(x, "input"); need_quant(y, "output"); need_quant(w, "weights", per_channel_ok=True)
    need(wd.ndim == 2, f"weights must be 2-D, got shape {wd.shape}")
    n, k = wd.shape
    need(not np.any(w.zero_point), "weights zero point must be 0 (symmetric int8)")
    need(x.size % k == 0, f"input of {x.size} elements is not a multiple of K={k}")
    need(y.size == x.size // k * n, f"output shape {y.shape} does not hold {x.size // k}x{n} values")
    bias = np.zeros(n, np.int64)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        need_dtype(g, op.inputs[2], "bias", "int32")
        bias = need_const(g, op.inputs[2], "bias").astype(np.int64).reshape(-1)
        need(bias.size == n, f"bias has {bias.size} values for {n} outputs")
    in_scale, in_zp = x.qparams()
    out_scale, out_zp = y.qparams()
    # sum_k (x + in_off) * w = sum_k x * w + in_off * sum_k w: the second term is constant.
    folded = bias + (-in_zp) * wd.astype(np.int64).sum(axis=1)
    mult, shift = channel_requant(g, op, in_scale, w, out_scale, n)
    lo, hi = act_range(op, y)
    op.kernel_inputs = [op.inputs[0], op.inputs[1], add_const(g, op, "folded_bias", wrap_int32(folded)),
                        mult, shift]
    op.params = [out_zp, lo, hi]
    if ks == "np":
        from ...kernels.np.fully_connected import scratch_bytes
        op.scratch_bytes = scratch_bytes(x.size // k, n, k, wd, wrap_int32(folded))
