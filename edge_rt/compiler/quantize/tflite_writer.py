"""Write a host IR graph (float or int8) as a .tflite flatbuffer through the project's
ModelBuilder (flatbuffers + the `tflite` schema package): the IR's op options back into
the schema's option tables."""
from __future__ import annotations

import numpy as np

from ..ir import Graph
from ...testing.tflite_builder import ModelBuilder


def _conv(o, depthwise=False):
    f = dict(Padding=o["padding"], StrideW=o["stride_w"], StrideH=o["stride_h"],
             DilationWFactor=o.get("dilation_w", 1), DilationHFactor=o.get("dilation_h", 1),
             FusedActivationFunction=o.get("activation", "NONE"))
    if depthwise:
        f["DepthMultiplier"] = o.get("depth_multiplier", 1)
    return f


def _pool(o):
    return dict(Padding=o["padding"], StrideW=o["stride_w"], StrideH=o["stride_h"], FilterWidth=o["filter_w"],
                FilterHeight=o["filter_h"], FusedActivationFunction=o.get("activation", "NONE"))


def _act(o):
    return dict(FusedActivationFunction=o.get("activation", "NONE"))


# builtin -> (options table, IR options -> schema fields)
OPTIONS = {
    "CONV_2D": ("Conv2DOptions", _conv),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", lambda o: _conv(o, True)),
    "FULLY_CONNECTED": ("FullyConnectedOptions", lambda o: dict(
        FusedActivationFunction=o.get("activation", "NONE"), KeepNumDims=bool(o.get("keep_num_dims", False)))),
    "AVERAGE_POOL_2D": ("Pool2DOptions", _pool),
    "MAX_POOL_2D": ("Pool2DOptions", _pool),
    "ADD": ("AddOptions", _act), "SUB": ("SubOptions", _act), "MUL": ("MulOptions", _act),
    "CONCATENATION": ("ConcatenationOptions", lambda o: dict(
        Axis=o["axis"], FusedActivationFunction=o.get("activation", "NONE"))),
    "RESHAPE": ("ReshapeOptions", lambda o: dict(NewShape=o["new_shape"]) if o.get("new_shape") else {}),
    "SQUEEZE": ("SqueezeOptions", lambda o: dict(SqueezeDims=o["squeeze_dims"]) if o.get("squeeze_dims") else {}),
    "SOFTMAX": ("SoftmaxOptions", lambda o: dict(Beta=float(o.get("beta", 1.0)))),
    "MEAN": ("ReducerOptions", lambda o: dict(KeepDims=bool(o.get("keep_dims", False)))),
    "LEAKY_RELU": ("LeakyReluOptions", lambda o: dict(Alpha=float(o.get("alpha", 0.0)))),
}


def write_tflite(g: Graph) -> bytes:
    b = ModelBuilder()
    for t in g.tensors:
        scale = None if t.scale is None else [float(s) for s in np.ravel(t.scale)]
        zp = None if t.zero_point is None else [int(z) for z in np.ravel(t.zero_point)]
        b.tensor(t.name, t.shape, t.dtype, scale, zp, t.quant_dim, t.data)
    for op in g.ops:
        cls, conv = OPTIONS.get(op.type, (None, None))
        fields = conv(op.options) if conv else {}
        b.op(op.type, op.inputs, op.outputs, cls, **fields)
    return b.build(inputs=g.inputs, outputs=g.outputs)
