"""UNIDIRECTIONAL_SEQUENCE_LSTM, as TFLite Micro's integer LSTM (lstm_eval.h / lstm_eval_common.cc),
in its two integer forms: int8 activations with int32 gate biases (8x8->16) and int16 activations
with int64 gate biases (16x8->16); int8 weights and an int16 cell state in both. Per batch and
time step:
  gate_g = act_g(sat16(FC16(x, W_xg, b_g) + FC16(h, W_hg)))   g in (input, forget, cell, output)
where FC16 is an activation x int8 -> int16 fully connected layer whose output scale is 2^-12
(Q3.12), act is the int16 sigmoid (tanh for the cell gate), both with Q0.15 outputs; then
  c = sat16(mul(f, c) + mul(i, g)), optionally clipped;  h = mul(tanh(c), o);  y[t] = h.
The int8 form's FCs accumulate in int32 and rescale with the double-rounding
MultiplyByQuantizedMultiplier; the int16 form's accumulate in int64 and rescale with its int64
overload (the multiplier rounded to 15 bits, one rounding shift), so its multipliers 0-7 are
stored as that 15-bit multiplier and its shifts 0-7 as the total right shift.
The hidden (h, int8 or int16) and cell (c, int16) state are variable tensors: TFLite Micro keeps
them across invokes (zero point / zeros at allocation and Reset()), so they are state tensors
here (compiler/importers/tflite.py). Only the standard (Keras) LSTM runs: TFLite Micro's Prepare
(LstmTensors::ValidateTensorStatus, lstm_eval.cc) fails a model with CIFG, peephole, projection
or layer-norm tensors, so there is no oracle for them and they are refused here.

Kernel inputs: [input, W_x (4S, I), W_h (4S, S), bias (8S, int32 or int64: input FCs with the
input zero point folded in, then the recurrent FCs' folded hidden zero point), multiplier (11),
shift (11), sigmoid table (256, int32), hidden state, cell state]; gates in the order input,
forget, cell, output; multipliers: 0-3 input FCs, 4-7 recurrent FCs, 8 forget x cell, 9 input x
cell gate, 10 tanh(cell) x output gate. Params: [batches, steps, input size I, state size S,
time_major, hidden zero point, quantized cell clip (0 = none), tanh input multiplier, tanh input
shift, activation bytes (1 or 2)]. Scratch: S activations (the new hidden state: every gate reads
the old one)."""
from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op
from ...kernels.np._exact import mbqm64_operands
from ..quant import quantize_multipliers
from ..sigmoid16 import SIGMOID_TABLE_U16
from .common import add_const, need, need_const, need_dtype, need_quant, wrap_int32

DTYPES = ("int8", "int16")
BIAS_DTYPE = {"int8": "int32", "int16": "int64"}
GATES = ("input", "forget", "cell", "output")
# TFLite's input numbering (lstm_shared.h)
X_W = (1, 2, 3, 4)      # input-to-gate weights
H_W = (5, 6, 7, 8)      # recurrent-to-gate weights
BIAS = (12, 13, 14, 15)
VARIANTS = {(9, 10, 11): "peephole", (16, 17): "projection", (20, 21, 22, 23): "layer norm"}
REFUSED = "TFLite Micro does not run it either: its Prepare accepts the standard LSTM only"
Q3_12, Q0_15 = np.float32(2.0 ** -12), np.float32(2.0 ** -15)


def sigmoid_table() -> np.ndarray:
    """TFLite's int16 sigmoid table (compiler/sigmoid16.py) as int32 (its values reach 65535)."""
    return np.array(SIGMOID_TABLE_U16, np.int32)


def _scale(t) -> np.float64:
    return np.float64(np.float32(t.qparams()[0]))


def _mul_scale(a, b, out) -> float:
    """CreateInterGateMulParams: input1 x input2 / output in double from float32 scales."""
    return float(np.float64(a) * np.float64(b) / np.float64(out))


def _reduced(mult: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The int64 MultiplyByQuantizedMultiplier's operands: the multiplier rounded to 15 bits
    ((m + 2^15) >> 16, 0x7FFF from 0x7FFF0000 up) and the total right shift 15 - shift."""
    red, total = mbqm64_operands(mult, shift)
    need(bool(np.all((total >= 1) & (total <= 46))), f"gate scale shifts {list(shift)} out of range (-31..7)")
    return red.astype(np.int32), total.astype(np.int32)


def prepare(g: Graph, op: Op, ks: str) -> None:
    ins = list(op.inputs) + [-1] * (24 - len(op.inputs))
    need(len(op.inputs) == 24, f"expected 24 inputs, got {len(op.inputs)}")
    need(len(op.outputs) == 1, f"expected 1 output, got {len(op.outputs)}")
    for ids, name in VARIANTS.items():
        need(all(ins[i] < 0 for i in ids), f"{name} LSTM not supported; {REFUSED}")
    need(all(ins[i] >= 0 for i in X_W + H_W + BIAS), f"CIFG LSTM (no input gate) not supported; {REFUSED}")
    need(op.options.get("activation") == "TANH",
         f"cell gate activation {op.options.get('activation')} not supported; supported: TANH")
    need(not op.options.get("diagonal_recurrent_tensors"), "diagonal recurrent weights not supported")
    need(not op.options.get("proj_clip"), "projection clip without projection not supported")
    x = need_dtype(g, ins[0], "input", *DTYPES)
    act = x.dtype  # TFLite Micro requires the hidden state and the output to have the input's type
    y = need_dtype(g, op.outputs[0], "output", act)
    h = need_dtype(g, ins[18], "hidden state", act)
    c = need_dtype(g, ins[19], "cell state", "int16")
    for t, role in ((h, "hidden state"), (c, "cell state")):
        need(t.is_state, f"{role} tensor ({t.name}) must be a variable tensor")
    for t, role in ((x, "input"), (h, "hidden state"), (c, "cell state")):
        need_quant(t, role)
    need(len(x.shape) == 3 and len(y.shape) == 3, f"input {list(x.shape)} and output {list(y.shape)} must be 3-D")
    tm = bool(op.options.get("time_major"))
    steps, batches = (x.shape[0], x.shape[1]) if tm else (x.shape[1], x.shape[0])
    n_in = x.shape[2]
    w0 = need_const(g, ins[2], "input-to-forget weights")
    need(w0.ndim == 2, f"input-to-forget weights must be 2-D, got shape {list(w0.shape)}")
    n_state = w0.shape[0]
    need(y.shape[:2] == x.shape[:2] and y.shape[2] == n_state,
         f"output shape {list(y.shape)} does not match input {list(x.shape)} and {n_state} cells")
    need(h.size == batches * n_state and c.size == batches * n_state,
         f"hidden/cell state hold {h.size}/{c.size} values, expected {batches}x{n_state}")
    wx, wh, bx, reals_x, reals_h = [], [], [], [], []
    for gate, iw, hw, ib in zip(GATES, (ins[i] for i in X_W), (ins[i] for i in H_W), (ins[i] for i in BIAS)):
        for tid, role, cols in ((iw, f"input-to-{gate} weights", n_in), (hw, f"recurrent-to-{gate} weights", n_state)):
            w = need_dtype(g, tid, role, "int8")
            wd = need_const(g, tid, role)
            need_quant(w, role)
            need(not np.any(w.zero_point), f"{role} zero point must be 0 (symmetric int8)")
            need(wd.shape == (n_state, cols), f"{role} have shape {list(wd.shape)}, expected [{n_state}, {cols}]")
        need_dtype(g, ib, f"{gate} gate bias", BIAS_DTYPE[act])
        b = need_const(g, ib, f"{gate} gate bias").astype(np.int64).reshape(-1)
        need(b.size == n_state, f"{gate} gate bias has {b.size} values for {n_state} cells")
        wdx, wdh = g.tensors[iw].data.astype(np.int64), g.tensors[hw].data.astype(np.int64)
        wx.append(wdx); wh.append(wdh)
        # sum((x - x_zp) * w) + b = sum(x * w) + (b - x_zp * sum(w)); likewise the hidden state
        bx.append(b - x.qparams()[1] * wdx.sum(axis=1))
        reals_x.append(float(_scale(x) * _scale(g.tensors[iw]) / np.float64(Q3_12)))
        reals_h.append(float(_scale(h) * _scale(g.tensors[hw]) / np.float64(Q3_12)))
    bh = [-h.qparams()[1] * w.sum(axis=1) for w in wh]
    if act == "int8":  # int32 accumulators: the folded sums wrap as TFLite Micro's int32 sums do
        bx, bh = [wrap_int32(v) for v in bx], [wrap_int32(v) for v in bh]
    cs = np.float32(c.qparams()[0])
    power = int(round(math.log2(float(cs))))  # CheckedLog2 (TFLite Micro uses the rounded value)
    reals = reals_x + reals_h + [_mul_scale(Q0_15, cs, cs), _mul_scale(Q0_15, Q0_15, cs),
                                 _mul_scale(Q0_15, Q0_15, np.float32(h.qparams()[0]))]
    mult, shift = quantize_multipliers(reals)
    if act == "int16":
        mult[:8], shift[:8] = _reduced(mult[:8], shift[:8])
        # |sum| <= |b| + 2^15 sum|w| per row; its product with the 15-bit multiplier must stay
        # inside int64 (TFLite's C and the numpy kernel compute it there)
        for k, (b, w) in enumerate(zip(bx + bh, wx + wh)):
            worst = int((np.abs(b) + (1 << 15) * np.abs(w).sum(axis=1)).max(initial=0)) * int(mult[k])
            need(worst + (1 << int(shift[k])) < 1 << 63,
                 f"{GATES[k % 4]} gate bias or accumulator too large: the int64 requantization would overflow int64")
    clip = float(op.options.get("cell_clip") or 0.0)
    qclip = 0
    if clip > 0:
        qclip = int(min(max(np.float64(np.float32(clip)) / np.float64(cs), -32768.0), 32767.0))
    # the tanh of the cell state takes it from 2^power to Q3.12 (lstm_internal::Tanh)
    left = 15 + power - 3
    t_mult, t_shift = (3 << left, 0) if left >= 0 else (3, -left)
    need(0 <= t_shift <= 30 and t_mult < 1 << 14, f"cell state scale 2^{power} not supported")
    op.kernel_inputs = [
        ins[0],
        add_const(g, op, "lstm_wx", np.concatenate(wx).astype(np.int8)),
        add_const(g, op, "lstm_wh", np.concatenate(wh).astype(np.int8)),
        add_const(g, op, "lstm_bias", np.concatenate(bx + bh).astype(BIAS_DTYPE[act])),
        add_const(g, op, "multiplier", mult), add_const(g, op, "shift", shift),
        add_const(g, op, "sigmoid_table", sigmoid_table()),
        ins[18], ins[19]]
    width = 1 if act == "int8" else 2
    op.params = [batches, steps, n_in, n_state, int(tm), h.qparams()[1], qclip, t_mult, t_shift, width]
    op.scratch_bytes = n_state * width
