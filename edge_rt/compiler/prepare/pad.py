"""PAD (int8; also int16, int32, float32 as TFLite Micro). Kernel inputs:
[input, pad_value(1 element, the input's dtype)]; params: [rank, before_0.., after_0..].

The pad value is the optional third input when present (it must share the output's
quantization for int8), else the output zero point for int8 and 0 for the other dtypes (int16:
the output zero point, which must be 0)."""
import numpy as np

from ..ir import Graph, Op
from .common import add_const, need, need_const, need_dtype

DTYPES = ("int8", "int16", "int32", "float32")
MAX_RANK = 5  # TFLite Micro's PadKernelMaxDimensionCount


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) in (2, 3) and len(op.outputs) == 1, "expected 2 or 3 inputs and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    need_dtype(g, op.inputs[1], "paddings", "int32")
    pads = need_const(g, op.inputs[1], "paddings").astype(np.int64)
    rank = len(x.shape)
    need(rank <= MAX_RANK, f"input has {rank} dimensions; supported: up to {MAX_RANK}")
    need(pads.size == 2 * rank, f"paddings has shape {pads.shape}; expected ({rank}, 2)")
    pads = pads.reshape(rank, 2)
    need(pads.min(initial=0) >= 0, f"negative paddings {pads.tolist()} not supported")
    want = tuple(int(d + p[0] + p[1]) for d, p in zip(x.shape, pads))
    need(tuple(y.shape) == want, f"output shape {tuple(y.shape)} != computed {want}")
    if len(op.inputs) == 3 and op.inputs[2] >= 0:
        c = need_dtype(g, op.inputs[2], "constant_values", x.dtype)
        cv = need_const(g, op.inputs[2], "constant_values")
        need(cv.size == 1, f"constant_values has {cv.size} elements; expected a scalar")
        if x.dtype == "int8":
            need(c.qparams() == y.qparams(),
                 "constant_values and output quantization must be equal (TFLite Micro requires it)")
        value = cv.reshape(1).astype(x.dtype)
    else:
        # TFLite Micro pads int16 with 0 whatever the zero point: right for the int16x8 scheme's
        # zero point 0 only, so a quantized int16 tensor must have it
        need(x.dtype != "int16" or y.qparams()[1] == 0,
             f"int16 output zero point {y.qparams()[1]} must be 0 (TFLite Micro pads int16 with 0)")
        value = np.array([y.qparams()[1] if x.dtype == "int8" else 0], x.dtype)
    op.kernel_inputs = [op.inputs[0], add_const(g, op, "pad_value", value)]
    op.params = [rank] + [int(p) for p in pads[:, 0]] + [int(p) for p in pads[:, 1]]
