"""Small float32 .tflite models for the quantizer's tests, written with ModelBuilder (float
tensors, float constants; no quantization parameters)."""
from __future__ import annotations

import numpy as np

from .tflite_builder import ModelBuilder


def _w(rng, *shape, s=0.3):
    return (rng.standard_normal(shape) * s).astype(np.float32)


def float_cnn(seed: int = 0) -> bytes:
    """CONV(RELU) -> DW(stride 2, RELU6) -> CONV 1x1 -> ADD(RELU) residual -> MAX_POOL ->
    AVERAGE_POOL -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX, on a 1x12x12x3 input."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", (1, 12, 12, 3), "float32")
    c1 = b.tensor("c1", (1, 12, 12, 8), "float32")
    b.op("CONV_2D", [x, b.const("w1", _w(rng, 8, 3, 3, 3)), b.const("b1", _w(rng, 8, s=0.1))], [c1],
         "Conv2DOptions", Padding="SAME", StrideW=1, StrideH=1, FusedActivationFunction="RELU")
    d1 = b.tensor("d1", (1, 6, 6, 8), "float32")
    b.op("DEPTHWISE_CONV_2D", [c1, b.const("wd", _w(rng, 1, 3, 3, 8)), b.const("bd", _w(rng, 8, s=0.1))], [d1],
         "DepthwiseConv2DOptions", Padding="SAME", StrideW=2, StrideH=2, DepthMultiplier=1,
         FusedActivationFunction="RELU6")
    p1 = b.tensor("p1", (1, 6, 6, 8), "float32")
    b.op("CONV_2D", [d1, b.const("w2", _w(rng, 8, 1, 1, 8)), b.const("b2", _w(rng, 8, s=0.1))], [p1],
         "Conv2DOptions", Padding="VALID", StrideW=1, StrideH=1)
    a1 = b.tensor("a1", (1, 6, 6, 8), "float32")
    b.op("ADD", [d1, p1], [a1], "AddOptions", FusedActivationFunction="RELU")
    m1 = b.tensor("m1", (1, 3, 3, 8), "float32")
    b.op("MAX_POOL_2D", [a1], [m1], "Pool2DOptions", Padding="VALID", StrideW=2, StrideH=2,
         FilterWidth=2, FilterHeight=2)
    g1 = b.tensor("g1", (1, 1, 1, 8), "float32")
    b.op("AVERAGE_POOL_2D", [m1], [g1], "Pool2DOptions", Padding="VALID", StrideW=3, StrideH=3,
         FilterWidth=3, FilterHeight=3)
    r1 = b.tensor("r1", (1, 8), "float32")
    b.op("RESHAPE", [g1, b.const("shape", np.array([1, 8], np.int32))], [r1], "ReshapeOptions")
    f1 = b.tensor("f1", (1, 5), "float32")
    b.op("FULLY_CONNECTED", [r1, b.const("wf", _w(rng, 5, 8, s=1.0)), b.const("bf", _w(rng, 5, s=0.1))], [f1],
         "FullyConnectedOptions")
    y = b.tensor("y", (1, 5), "float32")
    b.op("SOFTMAX", [f1], [y], "SoftmaxOptions", Beta=1.0)
    return b.build(inputs=[x], outputs=[y])


def float_mlp(seed: int = 0, mean: bool = True) -> bytes:
    """FULLY_CONNECTED(RELU) -> {LOGISTIC, TANH, FULLY_CONNECTED} -> CONCATENATION, plus a
    MEAN output (unless mean=False): fixed-grid outputs meeting a shared-grid op, two graph outputs."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", (1, 16), "float32")
    h = b.tensor("h", (1, 24), "float32")
    b.op("FULLY_CONNECTED", [x, b.const("w1", _w(rng, 24, 16)), b.const("b1", _w(rng, 24, s=0.1))], [h],
         "FullyConnectedOptions", FusedActivationFunction="RELU")
    outs = []
    for name, opname in (("sig", "LOGISTIC"), ("th", "TANH")):
        f = b.tensor(name + "_in", (1, 8), "float32")
        b.op("FULLY_CONNECTED", [h, b.const(name + "_w", _w(rng, 8, 24)), b.const(name + "_b", _w(rng, 8, s=0.1))],
             [f], "FullyConnectedOptions")
        t = b.tensor(name, (1, 8), "float32")
        b.op(opname, [f], [t])
        outs.append(t)
    lin = b.tensor("lin", (1, 8), "float32")
    b.op("FULLY_CONNECTED", [h, b.const("lw", _w(rng, 8, 24)), b.const("lb", _w(rng, 8, s=0.1))], [lin],
         "FullyConnectedOptions")
    cat = b.tensor("cat", (1, 24), "float32")
    b.op("CONCATENATION", outs + [lin], [cat], "ConcatenationOptions", Axis=1)
    if not mean:
        return b.build(inputs=[x], outputs=[cat])
    m = b.tensor("mean", (1, 1), "float32")
    b.op("MEAN", [h, b.const("axis", np.array([1], np.int32))], [m], "ReducerOptions", KeepDims=True)
    return b.build(inputs=[x], outputs=[cat, m])
