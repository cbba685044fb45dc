"""The float graph the quantizer works on: the host IR (compiler/ir.py) holding float32
tensors, NHWC activations and TFLite builtin op names (plus a few import-only pseudo ops
that the float passes remove: BATCH_NORM, IDENTITY, GLOBAL_AVERAGE_POOL). Read from a float
.tflite here, from ONNX in compiler/importers/onnx.py."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedModelError
from ..ir import Graph, Op, Tensor

# ops the float executor, the quantizer and the writer all know
FLOAT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL",
             "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "RESHAPE", "SQUEEZE", "SOFTMAX",
             "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "CONCATENATION", "PAD")
PSEUDO_OPS = ("BATCH_NORM", "IDENTITY", "GLOBAL_AVERAGE_POOL")


def add_tensor(g: Graph, name: str, shape, data=None) -> int:
    """Append a float32 tensor (a constant when data is given) and return its id."""
    if data is not None:
        data = np.ascontiguousarray(data, dtype=np.float32 if np.asarray(data).dtype.kind == "f"
                                    else np.asarray(data).dtype)
        shape = data.shape
    g.tensors.append(Tensor(name, tuple(int(d) for d in shape), "float32" if data is None
                            else str(data.dtype), data=data))
    return len(g.tensors) - 1


def consumers(g: Graph) -> dict[int, list[Op]]:
    out: dict[int, list[Op]] = {}
    for op in g.ops:
        for t in op.inputs:
            if t >= 0:
                out.setdefault(t, []).append(op)
    return out


def producer_of(g: Graph) -> dict[int, Op]:
    return {t: op for op in g.ops for t in op.outputs}


def rewire(g: Graph, old: int, new: int) -> None:
    """Every use of tensor old (op inputs, graph outputs) reads tensor new instead."""
    for op in g.ops:
        op.inputs = [new if t == old else t for t in op.inputs]
    g.outputs = [new if t == old else t for t in g.outputs]


def compact(g: Graph) -> Graph:
    """Drop tensors no op or graph edge refers to, renumbering the rest."""
    used = sorted({t for op in g.ops for t in op.inputs + op.outputs if t >= 0} | set(g.inputs) | set(g.outputs))
    new = {old: i for i, old in enumerate(used)}
    for op in g.ops:
        op.inputs = [new[t] if t >= 0 else -1 for t in op.inputs]
        op.outputs = [new[t] for t in op.outputs]
    return Graph([g.tensors[t] for t in used], g.ops, [new[t] for t in g.inputs],
                 [new[t] for t in g.outputs], g.meta)


def from_tflite(data: bytes, name: str = "model") -> Graph:
    """A float32 .tflite as a float graph: hybrid int8 weights are dequantized and
    DEQUANTIZE ops of constants folded, so every tensor the passes see is float32."""
    from ..importers.tflite import import_tflite
    g, problems = import_tflite(data, name)
    if g is None:
        raise UnsupportedModelError(problems)
    quantized = []
    for i, t in enumerate(g.tensors):
        if t.is_const and t.dtype in ("int8", "uint8") and t.scale is not None:
            shape = [1] * t.data.ndim
            if len(t.scale) > 1:
                shape[t.quant_dim] = -1
            zp = np.asarray(t.zero_point, np.float32).reshape(shape if len(t.scale) > 1 else ())
            sc = np.asarray(t.scale, np.float32).reshape(shape if len(t.scale) > 1 else ())
            t.data = ((t.data.astype(np.float32) - zp) * sc).astype(np.float32)
            t.dtype, t.scale, t.zero_point = "float32", None, None
        elif not t.is_const and t.dtype not in ("float32", "int32"):
            quantized.append(i)
    if quantized:
        t = g.tensors[quantized[0]]
        problems.append(f"{len(quantized)} quantized activation tensor(s) (first: tensor {quantized[0]} "
                        f"({t.name}), {t.dtype}); `edge-rt quantize` takes a float32 model (this one looks "
                        "quantized already: pack it directly)")
    ops = []
    for op in g.ops:
        if op.type == "DEQUANTIZE" and g.tensors[op.inputs[0]].is_const:
            src = g.tensors[op.inputs[0]]
            g.tensors[op.outputs[0]].data = src.data.astype(np.float32).reshape(g.tensors[op.outputs[0]].shape)
            g.tensors[op.outputs[0]].dtype = "float32"
            continue
        if op.type not in FLOAT_OPS:
            problems.append(f"{op.where()}: op not supported by the quantizer; supported: {', '.join(FLOAT_OPS)}")
        ops.append(op)
    if problems:
        raise UnsupportedModelError(problems)
    g.ops = ops
    for t in g.tensors:  # activations carry no quantization yet
        if not t.is_const:
            t.scale = t.zero_point = None
    return compact(g)
