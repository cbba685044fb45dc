"""Whole networks beyond ../shared/models, built from the same op set the way converters
emit them (explicit PAD before stride-2 depthwise, MEAN pooling, HARD_SWISH, residual ADD,
CONCATENATION, float32 QUANTIZE/DEQUANTIZE edges), checked bit-exact against TFLite Micro on
both kernel sets with every pass on."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.testing.c_set import C_SETS
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.mobilenets import Net


def mobilenet_like():
    """MobileNet-v1 style: converter-style explicit PAD before each stride-2 depthwise."""
    net = Net(1)
    b = net.b
    xf = b.tensor("image", (1, 24, 24, 3), "float32")
    x = net.act((1, 24, 24, 3), 0.02, 0)
    b.op("QUANTIZE", [xf], [x])
    t = net.conv(x, 8, stride=2)
    for stride, oc in ((1, 16), (2, 24), (1, 24), (2, 32)):
        if stride == 2:
            t = net.dw(net.pad(t, (0, 1, 0, 1)), stride=2, padding="VALID")
        else:
            t = net.dw(t)
        t = net.conv(t, oc, k=1)
    s, z = net.qp(t)
    axes = b.const("axes", np.array([1, 2], np.int32))
    g = net.act((1, 32), s, z)
    b.op("MEAN", [t, axes], [g], "ReducerOptions", KeepDims=False)
    y = net.softmax(net.fc(g, 10))
    yf = b.tensor("probs", (1, 10), "float32")
    b.op("DEQUANTIZE", [y], [yf])
    return b.build([xf], [yf])


def mobilenet_v3_like():
    """HARD_SWISH activations, an inverted residual with ADD, average pooling, SQUEEZE."""
    net = Net(2)
    b = net.b
    x = net.act((1, 16, 16, 3), 0.03, -10)
    t = net.conv(x, 16, stride=2, act="NONE")
    s, z = net.qp(t)
    h = net.act(net.shape(t), s * 0.8, 5)
    b.op("HARD_SWISH", [t], [h])
    e = net.conv(h, 32, k=1)
    d = net.dw(e)
    p = net.conv(d, 16, k=1, act="NONE")
    ps, pz = net.qp(p)
    r = net.act(net.shape(p), max(ps, s * 0.8) * 1.5, 0)
    b.op("ADD", [p, h], [r], "AddOptions")
    rs, rz = net.qp(r)
    pooled = net.act((1, 1, 1, 16), rs, rz)
    b.op("AVERAGE_POOL_2D", [r], [pooled], "Pool2DOptions", Padding="VALID", StrideW=8, StrideH=8,
         FilterWidth=8, FilterHeight=8)
    sq = net.act((1, 16), rs, rz)
    b.op("SQUEEZE", [pooled], [sq], "SqueezeOptions", SqueezeDims=[1, 2])
    y = net.fc(sq, 5)
    return b.build([x], [y])


def two_branch_concat():
    """Inception-style block: two branches concatenated, max pooling, LOGISTIC head."""
    net = Net(3)
    b = net.b
    x = net.act((1, 12, 12, 4), 0.05, 3)
    a = net.conv(x, 6, k=1)
    c = net.conv(x, 6, k=3)
    # CONCATENATION needs equal quantization: requantize the second branch to the first's grid
    s, z = net.qp(a)
    c2 = net.act(net.shape(c), s, z)
    b.op("QUANTIZE", [c], [c2])
    cat = net.act((1, 12, 12, 12), s, z)
    b.op("CONCATENATION", [a, c2], [cat], "ConcatenationOptions", Axis=3)
    mp = net.act((1, 6, 6, 12), s, z)
    b.op("MAX_POOL_2D", [cat], [mp], "Pool2DOptions", Padding="SAME", StrideW=2, StrideH=2,
         FilterWidth=3, FilterHeight=3)
    flat = net.act((1, 432), s, z)
    b.op("RESHAPE", [mp], [flat], "ReshapeOptions", NewShape=[1, 432])
    f = net.fc(flat, 1)
    y = b.tensor("p", (1, 1), "int8", 1 / 256, -128)
    b.op("LOGISTIC", [f], [y])
    return b.build([x], [y])


@pytest.mark.parametrize("make", [mobilenet_like, mobilenet_v3_like, two_branch_concat])
def test_network_bit_exact(make):
    data = make()
    r = check_bit_exact(data, trials=3, kernel_sets=("np", "ref") + C_SETS)
    assert r["ops"] >= 3


def test_mobilenet_like_pads_are_folded():
    r = pack(mobilenet_like(), "mobilenet_like.tflite", kernels="ref")
    assert "PAD" not in [op.type for op in r.graph.ops]
    assert any(name == "fold_pad" and "folded 2" in note for name, note in r.pass_report)
