"""QUANTIZE, two forms (TFLite Micro's reference QUANTIZE):
  float32 -> int8 / int16: y = clamp(int32(round(x / s_out)) + z_out), the division in float32,
                   clamped to the output dtype's range;
  int8 -> int8, int8 -> uint8, uint8 -> int8 (uint8 is the camera input / probability output of
  many published models), and for the int16x8 scheme int8 -> int16, int16 -> int8, int16 -> int16
  (TFLite Micro's Requantize):
                   y = clamp(mbqm(x - z_in, multiplier, shift) + z_out), s_in / s_out in double,
                   clamped to the output dtype's range (the dtypes are in the tensor records).
                   An int16 input's x - z_in shifted left past int32 wraps, as the reference's
                   int32 product does.
Kernel inputs: [input]; params: [MODE_FLOAT, output_zero_point] (the scale is read from the
output tensor record, which stores the float32 scale exactly) or
[MODE_REQUANT, input_zero_point, output_zero_point, multiplier, shift]."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from ..quant import quantize_multiplier
from .common import need, need_dtype, need_quant

MODE_FLOAT = 0
MODE_REQUANT = 1


DTYPES = ("float32→int8", "float32→int16", "int8→int8", "int8→uint8", "uint8→int8", "int8→int16",
          "int16→int8", "int16→int16")
RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}
REQUANT_PAIRS = (("int8", "int8"), ("int8", "uint8"), ("uint8", "int8"),  # as TFLite Micro
                 ("int8", "int16"), ("int16", "int8"), ("int16", "int16"))


def _int8_quant(t, role: str):
    need_quant(t, role)
    s, z = t.qparams()
    lo, hi = RANGES[t.dtype]
    need(s > 0 and np.isfinite(s), f"{role} scale must be positive and finite, got {s}")
    need(lo <= z <= hi, f"{role} zero point {z} outside {t.dtype} range [{lo}, {hi}]")
    return s, z


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 1 and len(op.outputs) == 1,
         f"expected 1 input and 1 output, got {len(op.inputs)} and {len(op.outputs)}")
    x = need_dtype(g, op.inputs[0], "input", "float32", "int8", "uint8", "int16")
    y = need_dtype(g, op.outputs[0], "output", "int8", "uint8", "int16")
    need(x.dtype == "float32" and y.dtype in ("int8", "int16") or (x.dtype, y.dtype) in REQUANT_PAIRS,
         f"{x.dtype} -> {y.dtype} not supported; supported: float32 -> int8, float32 -> int16, "
         + ", ".join(f"{a} -> {b}" for a, b in REQUANT_PAIRS))
    need(x.size == y.size, f"input shape {x.shape} and output shape {y.shape} differ in size")
    so, zo = _int8_quant(y, "output")
    op.kernel_inputs = [op.inputs[0]]
    op.scratch_bytes = 0
    if x.dtype == "float32":
        op.params = [MODE_FLOAT, zo]
        if ks == "np":
            from ...kernels.np.quantize import scratch_bytes
            op.scratch_bytes = scratch_bytes(y.size, MODE_FLOAT)
        return
    si, zi = _int8_quant(x, "input")
    mult, shift = quantize_multiplier(si / so)
    need(shift <= 30, f"rescale factor {si / so:.6g} too large (output scale {so:.6g} too small)")
    op.params = [MODE_REQUANT, zi, zo, mult, shift]
    if ks == "np":
        from ...kernels.np.quantize import scratch_bytes
        op.scratch_bytes = scratch_bytes(y.size, MODE_REQUANT, x.dtype == "int16")
