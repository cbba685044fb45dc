"""REDUCE_MAX (int8, float32 as TFLite Micro): the largest element over the constant `axes`
(negative count from the end, repeats allowed), keep_dims or not. int8 needs equal input and
output quantization (TFLite Micro requires it: the values are not rescaled).
Kernel inputs: [input]; params: two strided plans (prepare/strided.py) over the input: the
kept axes in order (the output is contiguous in that order), then the reduced axes."""
from ..ir import Graph, Op
from .common import need, need_const, need_dtype
from .strided import contiguous, copy_params

DTYPES = ("int8", "float32")


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 2 and len(op.outputs) == 1, "expected 2 inputs (input, axes) and 1 output")
    x = need_dtype(g, op.inputs[0], "input", *DTYPES)
    y = need_dtype(g, op.outputs[0], "output", x.dtype)
    need_dtype(g, op.inputs[1], "axes", "int32")
    axes = [int(a) for a in need_const(g, op.inputs[1], "axes").reshape(-1)]
    rank = len(x.shape)
    for a in axes:
        need(-rank <= a < rank, f"axis {a} out of range for a {rank}-D input")
    red = sorted({a + rank if a < 0 else a for a in axes})
    if x.dtype == "int8":
        need(x.qparams() == y.qparams(),
             "input and output quantization must be equal (TFLite Micro requires it); got scale "
             f"{x.qparams()[0]:g}/{y.qparams()[0]:g}, zero point {x.qparams()[1]}/{y.qparams()[1]}")
    kept = [d for d in range(rank) if d not in red]
    if op.options.get("keep_dims", False):
        want = tuple(1 if d in red else x.shape[d] for d in range(rank))
    else:
        want = tuple(x.shape[d] for d in kept)
    need(tuple(y.shape) == want, f"output shape {tuple(y.shape)} != reduced input shape {want}")
    need(all(x.shape[d] > 0 for d in red), "reducing over an empty axis is not supported")
    xs = contiguous(x.shape)
    op.kernel_inputs = [op.inputs[0]]
    op.params = (copy_params([x.shape[d] for d in kept], [xs[d] for d in kept])
                 + copy_params([x.shape[d] for d in red], [xs[d] for d in red]))
