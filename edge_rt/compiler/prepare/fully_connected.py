"""FULLY_CONNECTED (int8: folds the input zero point into the bias; int16x8: int16 activations,
int8 weights, int64 or int32 bias, kept as is) and precomputes the requantization.
Kernel inputs: [input, weights(N,K), folded_bias(N), multiplier(N), shift(N)] (c: the weights
in their VNNI packing, 4-D, then wsum: the only copy; the ref set reads it too, ref/_weighted.py);
params: [output_offset, act_min, act_max]."""
import numpy as np

from ..ir import Graph, Op
from .common import (add_const, c_packing, c_wsum, int16_tail, need, need_const, need_dtype, need_quant, np_constants, requant_values,
                     weighted_op)

DTYPES = ("int8", "int16x8")


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(op.options.get("weights_format", 0) == 0, "shuffled weights format not supported; supported: DEFAULT")
    x = need_dtype(g, op.inputs[0], "input", "int8", "int16")
    w = need_dtype(g, op.inputs[1], "weights", "int8")
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    wd = need_const(g, op.inputs[1], "weights")
    need_quant(x, "input"); need_quant(y, "output"); need_quant(w, "weights", per_channel_ok=True)
    need(wd.ndim == 2, f"weights must be 2-D, got shape {wd.shape}")
    n, k = wd.shape
    need(x.size % k == 0, f"input of {x.size} elements is not a multiple of K={k}")
    need(y.size == x.size // k * n, f"output shape {y.shape} does not hold {x.size // k}x{n} values")
    if x.dtype == "int16":
        need(ks in ("np", "ref"), f"int16 activations run on the np and ref kernels, not {ks}")
        lo, hi = int16_tail(g, op, x, w, y, np.abs(wd.astype(np.int64)).sum(axis=1))
        op.params = [0, lo, hi]
        if ks == "np":
            from ...kernels.np._wide import fc_scratch
            op.scratch_bytes = fc_scratch(x.size // k, n, k)
        return
    _, out_zp, lo, hi, folded = weighted_op(g, op, x, w, y, wd.astype(np.int64).sum(axis=1))
    op.params = [out_zp, lo, hi]
    if ks == "np":
        from ...kernels.np.fully_connected import constants, scratch_bytes
        op.scratch_bytes = scratch_bytes(x.size // k, n, k, wd, folded)
        np_constants(g, op, constants(wd, folded, *requant_values(g, op), op.params))
    elif ks == "c":  # no scratch (accumulators stay in registers). Every path of the C product reads
        op.scratch_bytes = 0  # the VNNI packing, so it replaces the weights (one copy), + its wsum
        ki = op.kernel_inputs
        op.kernel_inputs = ([ki[0], add_const(g, op, "c_wp", c_packing(wd))] + ki[2:] +
                            [add_const(g, op, "c_wsum", c_wsum(n, wd))])
