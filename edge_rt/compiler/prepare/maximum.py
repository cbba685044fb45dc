"""MAXIMUM (int8, int16, int32, float32 as TFLite Micro; numpy broadcasting up to 6-D):
y = a > b ? a : b per element of the raw values. Like TFLite Micro, no rescaling: the
quantization of the inputs and output is not consulted. Kernel inputs: [a, b]; params: the
broadcast plan (kernels/broadcast.py: ndim, dims, a_strides, b_strides). MINIMUM likewise."""
from ...kernels import broadcast
from ..ir import Graph, Op
from .common import need, need_dtype

DTYPES = ("int8", "int16", "int32", "float32")


def prepare_binary(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) == 2 and len(op.outputs) == 1, "expected 2 inputs and 1 output")
    a = need_dtype(g, op.inputs[0], "input 0", *DTYPES)
    b = need_dtype(g, op.inputs[1], "input 1", a.dtype)
    y = need_dtype(g, op.outputs[0], "output", a.dtype)
    for role, tt in (("input 0", a), ("input 1", b), ("output", y)):
        need(len(tt.shape) <= broadcast.MAX_RANK, f"{role} has rank {len(tt.shape)}; supported: up to {broadcast.MAX_RANK}")
    try:
        p = broadcast.plan(a.shape, b.shape, y.shape)
    except ValueError as e:
        need(False, str(e))
    op.kernel_inputs = [op.inputs[0], op.inputs[1]]
    op.params = broadcast.pack_params(p)
    if ks == "np" and y.dtype == "float32":  # the bool mask of the np kernel's exact select
        op.scratch_bytes = y.size


prepare = prepare_binary
