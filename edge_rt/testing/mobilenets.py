"""Synthetic MobileNet-style int8 models (no TensorFlow), written with tflite_builder: the
memory-planning test and benchmark models of docs/memory.md.

mobilenet_v1(size=96, alpha=0.25, channels=1)  TFLite Micro's person_detect shape: a 3x3
    stride-2 stem, 13 depthwise-separable blocks (with the stem, 14 convolution stages),
    3x3 average pool, FULLY_CONNECTED, SOFTMAX.
mobilenet_v2(size=48)  inverted residuals (1x1 expand, 3x3 depthwise, 1x1 project, ADD).
Weights are seeded random int8 with per-channel scales; scales are chosen so activations
neither saturate nor vanish."""
from __future__ import annotations

import numpy as np

from .tflite_builder import ModelBuilder


class Net:
    """Tiny helper writing int8 layers with plausible per-channel quantization."""

    def __init__(self, seed, gain=60.0):
        self.gain = gain  # output scale / (input scale * mean weight scale * sqrt(taps))
        self.b = ModelBuilder()
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def name(self, p):
        self.n += 1
        return f"{p}{self.n}"

    def act(self, shape, scale, zp):
        return self.b.tensor(self.name("a"), shape, "int8", scale, zp)

    def shape(self, t):
        return self.b.tensors[t]["shape"]

    def qp(self, t):
        d = self.b.tensors[t]
        return d["scale"][0], d["zero_point"][0]

    def _wb(self, wshape, oc, qdim, k, in_scale):
        ws = self.rng.uniform(0.004, 0.02, oc)
        w = self.b.const(self.name("w"), self.rng.integers(-127, 128, wshape, dtype=np.int8),
                         scale=list(ws), zero_point=[0] * oc, quantized_dimension=qdim)
        bias = self.b.const(self.name("b"), self.rng.integers(-2000, 2000, oc, dtype=np.int32),
                            scale=list(ws * in_scale), zero_point=[0] * oc)
        out_scale = float(in_scale * ws.mean() * np.sqrt(k) * self.gain)
        return w, bias, out_scale

    def conv(self, x, oc, k=3, stride=1, padding="SAME", act="RELU6"):
        n, h, w, c = self.shape(x)
        s, _ = self.qp(x)
        wt, bias, os_ = self._wb((oc, k, k, c), oc, 0, k * k * c, s)
        oh, ow = (-(-h // stride), -(-w // stride)) if padding == "SAME" else ((h - k) // stride + 1, (w - k) // stride + 1)
        y = self.act((n, oh, ow, oc), os_, -128 if act != "NONE" else 0)
        self.b.op("CONV_2D", [x, wt, bias], [y], "Conv2DOptions", Padding=padding, StrideW=stride,
                  StrideH=stride, DilationWFactor=1, DilationHFactor=1, FusedActivationFunction=act)
        return y

    def dw(self, x, stride=1, padding="SAME", act="RELU6"):
        n, h, w, c = self.shape(x)
        s, _ = self.qp(x)
        wt, bias, os_ = self._wb((1, 3, 3, c), c, 3, 9, s)
        oh, ow = (-(-h // stride), -(-w // stride)) if padding == "SAME" else ((h - 3) // stride + 1, (w - 3) // stride + 1)
        y = self.act((n, oh, ow, c), os_, -128)
        self.b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], "DepthwiseConv2DOptions", Padding=padding,
                  StrideW=stride, StrideH=stride, DepthMultiplier=1, DilationWFactor=1,
                  DilationHFactor=1, FusedActivationFunction=act)
        return y

    def pad(self, x, p):
        n, h, w, c = self.shape(x)
        s, z = self.qp(x)
        pads = self.b.const(self.name("pads"), np.array([[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]], np.int32))
        y = self.act((n, h + p[0] + p[1], w + p[2] + p[3], c), s, z)
        self.b.op("PAD", [x, pads], [y])
        return y

    def fc(self, x, n_out, act="NONE"):
        s, _ = self.qp(x)
        k = self.shape(x)[-1]
        w = self.b.const(self.name("fw"), self.rng.integers(-127, 128, (n_out, k), dtype=np.int8), scale=0.01)
        bias = self.b.const(self.name("fb"), self.rng.integers(-500, 500, n_out, dtype=np.int32), scale=0.01 * s)
        y = self.act((self.shape(x)[0], n_out), float(s * 0.01 * np.sqrt(k) * 40), 0)
        self.b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction=act)
        return y

    def softmax(self, x):
        y = self.b.tensor(self.name("sm"), self.shape(x), "int8", 1 / 256, -128)
        self.b.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=1.0)
        return y


V1_BLOCKS = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512), (1, 512),
             (1, 512), (1, 512), (2, 1024), (1, 1024))   # (stride, output channels at width 1.0)


def mobilenet_v1(size: int = 96, alpha: float = 0.25, channels: int = 1, classes: int = 2,
                 blocks: int = 13, seed: int = 11, gain: float = 16.0) -> bytes:
    """MobileNet-v1 (person_detect style at the defaults), SAME padding throughout."""
    net = Net(seed, gain)  # a gain that keeps activations alive through the depth
    b = net.b
    x = net.act((1, size, size, channels), 1 / 128, 0)
    t = net.conv(x, max(8, int(32 * alpha)), stride=2)
    for stride, oc in V1_BLOCKS[:blocks]:
        t = net.conv(net.dw(t, stride=stride), max(8, int(oc * alpha)), k=1)
    _, h, w, c = net.shape(t)
    s, z = net.qp(t)
    pooled = net.act((1, 1, 1, c), s, z)
    b.op("AVERAGE_POOL_2D", [t], [pooled], "Pool2DOptions", Padding="VALID", StrideW=w, StrideH=h,
         FilterWidth=w, FilterHeight=h)
    flat = net.act((1, c), s, z)
    b.op("RESHAPE", [pooled, b.const("newshape", np.array([1, c], np.int32))], [flat])
    y = net.softmax(net.fc(flat, classes))
    return b.build([x], [y])


def _add(net, a, c):
    sa, _ = net.qp(a)
    sc, _ = net.qp(c)
    y = net.act(net.shape(a), max(sa, sc) * 1.5, 0)
    net.b.op("ADD", [a, c], [y], "AddOptions")
    return y


def mobilenet_v2(size: int = 48, classes: int = 10, seed: int = 12, gain: float = 16.0) -> bytes:
    """MobileNet-v2 style: stem, inverted residual blocks (expand 1x1, depthwise 3x3, project
    1x1 without activation, ADD when stride 1 and equal channels), 1x1 head, pool, FC, SOFTMAX."""
    net = Net(seed, gain)  # a gain that keeps activations alive through the depth
    b = net.b
    x = net.act((1, size, size, 3), 1 / 128, 0)
    t = net.conv(x, 16, stride=2)
    for expand, oc, stride in ((1, 8, 1), (4, 16, 2), (4, 16, 1), (4, 24, 2), (4, 24, 1), (4, 32, 1)):
        c = net.shape(t)[3]
        e = net.conv(t, c * expand, k=1) if expand > 1 else t
        p = net.conv(net.dw(e, stride=stride), oc, k=1, act="NONE")
        t = _add(net, p, t) if stride == 1 and oc == c else p
    t = net.conv(t, 64, k=1)
    _, h, w, c = net.shape(t)
    s, z = net.qp(t)
    pooled = net.act((1, 1, 1, c), s, z)
    b.op("AVERAGE_POOL_2D", [t], [pooled], "Pool2DOptions", Padding="VALID", StrideW=w, StrideH=h,
         FilterWidth=w, FilterHeight=h)
    flat = net.act((1, c), s, z)
    b.op("RESHAPE", [pooled, b.const("newshape", np.array([1, c], np.int32))], [flat])
    y = net.softmax(net.fc(flat, classes))
    return b.build([x], [y])


def dscnn_1d(frames: int = 49, features: int = 10, width: int = 64, blocks: int = 4, classes: int = 12,
             seed: int = 13, gain: float = 16.0) -> bytes:
    """A 1-D DS-CNN (keyword spotting over time): (1, frames, 1, features) input, a 5x1
    convolution, `blocks` depthwise-separable blocks with 3x1 depthwise kernels, pool, FC."""
    net = Net(seed, gain)
    b = net.b
    x = net.act((1, frames, 1, features), 1 / 128, 0)

    def conv_k1(t, oc, k, stride=1, depthwise=False):
        n, h, w, c = net.shape(t)
        s, _ = net.qp(t)
        if depthwise:
            wt, bias, os_ = net._wb((1, k, 1, c), c, 3, k, s)
            oc = c
        else:
            wt, bias, os_ = net._wb((oc, k, 1, c), oc, 0, k * c, s)
        y = net.act((n, -(-h // stride), 1, oc), os_, -128)
        if depthwise:
            b.op("DEPTHWISE_CONV_2D", [t, wt, bias], [y], "DepthwiseConv2DOptions", Padding="SAME", StrideW=1,
                 StrideH=stride, DepthMultiplier=1, DilationWFactor=1, DilationHFactor=1,
                 FusedActivationFunction="RELU")
        else:
            b.op("CONV_2D", [t, wt, bias], [y], "Conv2DOptions", Padding="SAME", StrideW=1, StrideH=stride,
                 DilationWFactor=1, DilationHFactor=1, FusedActivationFunction="RELU")
        return y

    t = conv_k1(x, width, 5, stride=2)
    for _ in range(blocks):
        t = conv_k1(conv_k1(t, width, 3, depthwise=True), width, 1)
    _, h, w, c = net.shape(t)
    s, z = net.qp(t)
    pooled = net.act((1, 1, 1, c), s, z)
    b.op("AVERAGE_POOL_2D", [t], [pooled], "Pool2DOptions", Padding="VALID", StrideW=w, StrideH=h,
         FilterWidth=w, FilterHeight=h)
    flat = net.act((1, c), s, z)
    b.op("RESHAPE", [pooled, b.const("newshape", np.array([1, c], np.int32))], [flat])
    return b.build([x], [net.softmax(net.fc(flat, classes))])


# name -> builder: the synthetic models tools/memory_bench.py measures beside ../shared/models
BENCH_MODELS = {
    "mobilenet_v1_96_025": mobilenet_v1,
    "mobilenet_v2_48": mobilenet_v2,
    "dscnn_1d": dscnn_1d,
}
