"""RESHAPE (any dtype): a byte copy, input and output hold the same elements in the same
row-major order. Kernel inputs: [input]; no params.

TFLite Micro takes the result shape from the output tensor, resolving one -1 there from the
input's element count; the requested shape (options or the constant second input) is
validated the same way, and a -1 left in the output tensor's shape is resolved here."""
import numpy as np

from ..ir import Graph, Op
from .common import need


def resolve_shape(shape, count: int, what: str) -> tuple:
    """Replace a single -1 in `shape` so that it holds `count` elements."""
    shape = [int(d) for d in shape]
    need(shape.count(-1) <= 1, f"{what} {shape} has more than one -1")
    need(all(d >= 0 or d == -1 for d in shape), f"{what} {shape} has a negative dimension")
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if -1 in shape:
        need(known > 0 and count % known == 0, f"{what} {shape} cannot hold {count} elements")
        shape[shape.index(-1)] = count // known
    need(int(np.prod(shape, dtype=np.int64)) == count, f"{what} {shape} does not hold {count} elements")
    return tuple(shape)


def same_bytes_prepare(g: Graph, op: Op, out_shape: tuple) -> None:
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    need(x.dtype == y.dtype, f"input is {x.dtype} but output is {y.dtype}")
    need(tuple(y.shape) == tuple(out_shape), f"output shape {tuple(y.shape)} != expected {tuple(out_shape)}")
    op.kernel_inputs = [op.inputs[0]]
    op.params = []


def prepare(g: Graph, op: Op, ks: str) -> None:
    need(len(op.inputs) in (1, 2) and len(op.outputs) == 1, "expected 1 or 2 inputs and 1 output")
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    requested = op.options.get("new_shape")
    if len(op.inputs) == 2 and op.inputs[1] >= 0 and g.tensors[op.inputs[1]].is_const:
        requested = g.tensors[op.inputs[1]].data.reshape(-1).tolist()
    out_shape = tuple(y.shape)
    if len(op.inputs) == 1 and out_shape == (0,):
        out_shape = ()  # legacy converters wrote [0] for a scalar
    out_shape = resolve_shape(out_shape, x.size, "output shape")
    if requested is not None and not (len(requested) == 1 and requested[0] == 0 and x.size == 1):
        resolve_shape(requested, x.size, "new shape")
    y.shape = out_shape
    same_bytes_prepare(g, op, out_shape)
