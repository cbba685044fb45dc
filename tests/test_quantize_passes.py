"""The quantizer's float passes: each rewrite leaves the float function unchanged (the graph
before and after run in the numpy float executor, and the folded graph written as a float
.tflite runs in LiteRT's reference kernels to the same values)."""
import copy

import numpy as np
import pytest

from edge_rt.compiler.ir import Graph, Op, Tensor
from edge_rt.compiler.quantize import passes as P
from edge_rt.compiler.quantize.float_run import run
from edge_rt.compiler.quantize.tflite_writer import write_tflite
from edge_rt.testing.reference import LiteRT

RNG = np.random.default_rng(7)
CONV = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "dilation_w": 1, "dilation_h": 1, "activation": "NONE"}


class G:
    """A tiny float graph builder for pass tests."""

    def __init__(self, shape):
        self.t = [Tensor("x", shape, "float32")]
        self.ops = []

    def act(self, name, shape):
        self.t.append(Tensor(name, tuple(shape), "float32"))
        return len(self.t) - 1

    def const(self, name, a):
        a = np.asarray(a)
        self.t.append(Tensor(name, a.shape, str(a.dtype), data=a))
        return len(self.t) - 1

    def op(self, type_, ins, shape, **opts):
        y = self.act(f"{type_.lower()}{len(self.ops)}", shape)
        self.ops.append(Op(type_, ins, [y], dict(opts), [len(self.ops)]))
        return y

    def graph(self, outs):
        return Graph(self.t, self.ops, [0], outs)


def w(*shape, s=0.5):
    return (RNG.standard_normal(shape) * s).astype(np.float32)


def bn(b, x, c):
    return b.op("BATCH_NORM", [x, b.const("g", w(c) + 1), b.const("b", w(c)), b.const("m", w(c)),
                               b.const("v", np.abs(w(c)) + 0.1)], b.t[x].shape, epsilon=1e-3)


def same_function(before, after, n=4, litert=True):
    x = RNG.standard_normal((n,) + before.tensors[before.inputs[0]].shape[1:]).astype(np.float32) * 2
    want = run(before, [x])
    got = run(after, [x])
    for a, b in zip(want, got):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    if litert:  # the rewritten graph as a standard float .tflite
        lr = LiteRT(write_tflite(after), "ref")
        for i in range(n):
            for a, b in zip(want, lr(x[i:i + 1])):
                np.testing.assert_allclose(b, a[i:i + 1], rtol=1e-4, atol=1e-5)


def conv_bn_relu(kind):
    b = G((1, 6, 6, 4))
    if kind == "CONV_2D":
        y = b.op("CONV_2D", [0, b.const("w", w(5, 3, 3, 4)), b.const("bias", w(5))], (1, 6, 6, 5), **CONV)
        c = 5
    elif kind == "DEPTHWISE_CONV_2D":
        y = b.op(kind, [0, b.const("w", w(1, 3, 3, 4)), b.const("bias", w(4))], (1, 6, 6, 4),
                 depth_multiplier=1, **CONV)
        c = 4
    else:
        y = b.op(kind, [0, b.const("w", w(7, 144)), -1], (1, 7), activation="NONE", keep_num_dims=False)
        c = 7
    y = bn(b, y, c)
    y = b.op("RELU6", [y], b.t[y].shape)
    return b.graph([y])


@pytest.mark.parametrize("kind", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"])
def test_fold_batch_norm_and_activation(kind):
    g = conv_bn_relu(kind)
    g2, note = P.fold_batch_norm(copy.deepcopy(g))
    assert "folded 1 batch norm" in note and [op.type for op in g2.ops] == [kind, "RELU6"]
    g3, note = P.fuse_activation(copy.deepcopy(g2))
    assert "fused 1" in note and [op.type for op in g3.ops] == [kind] and g3.ops[0].options["activation"] == "RELU6"
    same_function(g, g3)


@pytest.mark.parametrize("shape", [(1, 5, 5, 3), (1, 6)])
def test_standalone_batch_norm(shape):
    b = G(shape)
    y = b.op("RELU", [0], shape)
    y = bn(b, y, shape[-1])
    g = b.graph([y])
    g2, note = P.fold_batch_norm(copy.deepcopy(g))
    assert "standalone" in note and "BATCH_NORM" not in [op.type for op in g2.ops]
    same_function(g, g2)


def test_fold_pad():
    b = G((1, 7, 7, 2))
    p = b.op("PAD", [0, b.const("pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))], (1, 9, 9, 2))
    y = b.op("CONV_2D", [p, b.const("w", w(3, 3, 3, 2)), b.const("bias", w(3))], (1, 4, 4, 3),
             **{**CONV, "padding": "VALID", "stride_w": 2, "stride_h": 2})
    g = b.graph([y])
    g2, note = P.fold_pad(copy.deepcopy(g))
    assert note and [op.type for op in g2.ops] == ["CONV_2D"] and g2.ops[0].options["padding"] == "SAME"
    same_function(g, g2)
    # pads that are not SAME's stay
    b = G((1, 7, 7, 2))
    p = b.op("PAD", [0, b.const("pads", np.array([[0, 0], [2, 0], [0, 0], [0, 0]], np.int32))], (1, 9, 7, 2))
    y = b.op("CONV_2D", [p, b.const("w", w(3, 3, 3, 2)), b.const("bias", w(3))], (1, 7, 5, 3),
             **{**CONV, "padding": "VALID"})
    assert P.fold_pad(b.graph([y]))[1] == ""


def test_identity_reshape_chain_global_pool_matmul_add():
    b = G((1, 4, 4, 6))
    y = b.op("IDENTITY", [0], (1, 4, 4, 6))
    y = b.op("GLOBAL_AVERAGE_POOL", [y], (1, 1, 1, 6))
    y = b.op("RESHAPE", [y, b.const("s1", np.array([1, 6], np.int32))], (1, 6))
    y = b.op("RESHAPE", [y, b.const("s2", np.array([1, 2, 3], np.int32))], (1, 2, 3))
    y = b.op("RESHAPE", [y, b.const("s3", np.array([1, 6], np.int32))], (1, 6))
    y = b.op("FULLY_CONNECTED", [y, b.const("w", w(3, 6)), -1], (1, 3), activation="NONE")
    y = b.op("ADD", [y, b.const("bias", w(3))], (1, 3), activation="NONE")
    y = b.op("RELU", [y], (1, 3))
    g = b.graph([y])
    g2, rep = P.run_float_passes(copy.deepcopy(g))
    assert [op.type for op in g2.ops] == ["AVERAGE_POOL_2D", "FULLY_CONNECTED"]
    assert g2.ops[1].options["activation"] == "RELU" and len(g2.ops[1].inputs) == 3
    names = {n for n, _ in rep}
    assert {"remove_identity", "lower_global_pool", "collapse_reshapes", "fuse_matmul_add", "fuse_activation"} <= names
    same_function(g, g2)


def test_activation_not_fused_into_shared_tensor():
    b = G((1, 8))
    y = b.op("FULLY_CONNECTED", [0, b.const("w", w(8, 8)), b.const("bias", w(8))], (1, 8), activation="NONE")
    r = b.op("RELU", [y], (1, 8))
    s = b.op("ADD", [y, r], (1, 8), activation="NONE")
    g2, note = P.fuse_activation(b.graph([s]))
    assert note == "" and len(g2.ops) == 3


@pytest.mark.parametrize("shape", [(1, 5, 5, 3), (1, 6)])
def test_standalone_batch_norm_quantized_bit_exact(shape):
    """The per-channel scale/shift (1x1 depthwise, or MUL + ADD by constants) in int8."""
    from edge_rt.compiler.quantize import quantize
    from edge_rt.testing.conformance import check_bit_exact
    b = G(shape)
    y = b.op("RELU", [0], shape)
    y = bn(b, y, shape[-1])
    y = b.op("TANH", [y], shape)
    samples = RNG.standard_normal((32,) + shape[1:]).astype(np.float32)
    r = quantize(b.graph([y]), samples, method="mse")
    assert "BATCH_NORM" not in [op.type for op in r.int8_graph.ops]
    check_bit_exact(r.tflite, trials=3)
