"""SVDF (int8 input and feature weights, int16 or int8 time weights and activation state of one
type, int32 bias), as TFLite Micro's EvalIntegerSvdfReference. Per batch b and invoke:
  state[b, f, :] shifts one step older; state[b, f, M-1] = wrap(s_zp + clamp(mbqm(sum_i wf[f, i] *
  (x[b, i] - x_zp), scale1)));  t[b, f] = sum_m wt[f, m] * (state[b, f, m] - s_zp);
  y[b, u] = clamp8(mbqm(bias[u] + sum_r t[b, u * rank + r], scale2) + y_zp)
(the fused activation is not applied on this path, as in TFLite Micro). The activation state is a
variable tensor: a state tensor here, zero point (int8) / zeros at load and reset_state(), kept
across invokes. Kernel inputs: [input, wf (F, I) int8, wt (F, M), feature bias (F: -x_zp * row
sums), time bias (F: -s_zp * row sums), bias (U), multiplier (2), shift (2), state]; params:
[batches, I, F, M, rank, state zero point, output zero point, state dtype bits (8 or 16)]."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from ..quant import quantize_multipliers
from .common import add_const, need, need_const, need_dtype, need_quant, wrap_int32

DTYPES = ("int8",)


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 5 and len(op.outputs) == 1, f"expected 5 inputs and 1 output, got "
                                                       f"{len(op.inputs)} and {len(op.outputs)}")
    need(op.inputs[3] >= 0, "SVDF without a bias not supported (TFLite Micro requires it)")
    x = need_dtype(g, op.inputs[0], "input", "int8")
    wf_t = need_dtype(g, op.inputs[1], "feature weights", "int8")
    wt_t = need_dtype(g, op.inputs[2], "time weights", "int16", "int8")
    b_t = need_dtype(g, op.inputs[3], "bias", "int32")
    s = need_dtype(g, op.inputs[4], "activation state", "int16", "int8")
    y = need_dtype(g, op.outputs[0], "output", "int8")
    need(s.is_state, f"activation state tensor ({s.name}) must be a variable tensor")
    # TFLite Micro picks its kernel by the time weights' type and reads the state as that type
    need(wt_t.dtype == s.dtype, f"time weights are {wt_t.dtype} but the activation state is {s.dtype}; "
                                f"TFLite Micro requires one type for both")
    for t, role in ((x, "input"), (wf_t, "feature weights"), (wt_t, "time weights"), (b_t, "bias"),
                    (s, "activation state"), (y, "output")):
        need_quant(t, role)
    wf, wt = need_const(g, op.inputs[1], "feature weights"), need_const(g, op.inputs[2], "time weights")
    bias = need_const(g, op.inputs[3], "bias").astype(np.int64).reshape(-1)
    rank = int(op.options.get("rank") or 0)
    need(len(x.shape) == 2 and len(y.shape) == 2 and wf.ndim == 2 and wt.ndim == 2,
         "input, output and weights must be 2-D")
    nb, ni = x.shape
    nf, nm = wt.shape
    need(rank > 0 and nf % rank == 0, f"rank {rank} does not divide {nf} filters")
    nu = nf // rank
    need(wf.shape == (nf, ni), f"feature weights have shape {list(wf.shape)}, expected [{nf}, {ni}]")
    need(y.shape == (nb, nu) and bias.size == nu, f"output {list(y.shape)} / bias ({bias.size}) do not match "
                                                  f"{nb} batches of {nu} units")
    need(s.size == nb * nf * nm, f"activation state holds {s.size} values, expected {nb}x{nf * nm}")
    f32 = np.float32
    xs, wfs, wts, ss, ys, bs = (f32(t.qparams()[0]) for t in (x, wf_t, wt_t, s, y, b_t))
    need(abs(float(bs) - float(f32(ss * wts))) < 1e-5, "bias scale must equal state scale x time weight scale")
    # the effective scales are formed in float32, then widened (as TFLite Micro's PrepareSvdf)
    mult, shift = quantize_multipliers([float(f32(xs * wfs / ss)), float(f32(ss * wts / ys))])
    szp = s.qparams()[1]
    op.kernel_inputs = [
        op.inputs[0], op.inputs[1], op.inputs[2],
        add_const(g, op, "svdf_feature_bias", wrap_int32(-x.qparams()[1] * wf.astype(np.int64).sum(axis=1))),
        add_const(g, op, "svdf_time_bias", wrap_int32(-szp * wt.astype(np.int64).sum(axis=1))),
        add_const(g, op, "svdf_bias", wrap_int32(bias)),
        add_const(g, op, "multiplier", mult), add_const(g, op, "shift", shift), op.inputs[4]]
    op.params = [nb, ni, nf, nm, rank, szp, y.qparams()[1], 16 if s.dtype == "int16" else 8]
    op.scratch_bytes = 0
