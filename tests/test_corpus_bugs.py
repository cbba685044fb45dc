"""Two bugs found on the model corpus (issue 13, item 7), each on a hand-built graph and a
bit-exact model against TFLite Micro:
- fuse_residual fused CONV_2D -> ADD(broadcast constant) (the `+3` of a hard-sigmoid in a
  squeeze-excite block), which prepare then refused: only true residuals are fused now;
- a one-element CONV_2D / DEPTHWISE_CONV_2D / MEAN output on the numpy kernels packed but
  failed at load (the float64 requantization of one element needs a spare buffer)."""
import numpy as np
import pytest

from edge_rt.compiler.importers.tflite import import_tflite
from edge_rt.compiler.pack import pack
from edge_rt.compiler.passes.fuse import fuse_residual
from edge_rt.interpreter import Interpreter
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.tflite_builder import ModelBuilder

RNG = np.random.default_rng(13)


def q8(b, name, shape, scale=0.05, zp=0):
    return b.tensor(name, shape, "int8", scale, zp)


def conv(b, x, y, oc, k, ic, padding="SAME", act="NONE"):
    w = b.const(f"w_{y}", RNG.integers(-127, 128, (oc, k, k, ic), dtype=np.int8),
                scale=list(RNG.uniform(0.004, 0.02, oc)), zero_point=[0] * oc)
    bias = b.const(f"b_{y}", RNG.integers(-500, 500, oc, dtype=np.int32), scale=[1e-4] * oc,
                   zero_point=[0] * oc)
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", Padding=padding, StrideW=1, StrideH=1,
         DilationWFactor=1, DilationHFactor=1, FusedActivationFunction=act)


def hard_sigmoid_model(const_shape=(1, 1, 1, 4)):
    """Squeeze-excite gate: CONV_2D(1x1) -> ADD(+3, a broadcast constant) -> RELU6 -> MUL."""
    b = ModelBuilder()
    x = q8(b, "x", (1, 5, 5, 4), 0.05, -3)
    c = q8(b, "c", (1, 5, 5, 4), 0.06, 1)
    conv(b, x, c, 4, 1, 4)
    three = b.const("three", np.full(const_shape, 50, np.int8), scale=0.06, zero_point=0)
    s = q8(b, "s", (1, 5, 5, 4), 0.05, -128)
    b.op("ADD", [c, three], [s], "AddOptions", FusedActivationFunction="RELU6")
    return b.build([x], [s])


def graph_of(data):
    g, problems = import_tflite(data)
    assert problems == []
    return g


@pytest.mark.parametrize("const_shape", [(1, 1, 1, 4), (1,), (1, 5, 5, 4)])
def test_fuse_residual_leaves_constant_add(const_shape):
    g, note = fuse_residual(graph_of(hard_sigmoid_model(const_shape)))
    assert [op.type for op in g.ops] == ["CONV_2D", "ADD"] and note == ""


def test_fuse_residual_leaves_broadcast_activation():
    # the skip is computed but broadcast (1,1,1,C) against the conv's (1,H,W,C): no residual
    b = ModelBuilder()
    x = q8(b, "x", (1, 4, 4, 3), 0.05, 0)
    g = q8(b, "g", (1, 1, 1, 3), 0.05, 0)
    c = q8(b, "c", (1, 4, 4, 3), 0.05, 0)
    y = q8(b, "y", (1, 4, 4, 3), 0.08, 0)
    conv(b, x, c, 3, 1, 3)
    b.op("ADD", [c, g], [y], "AddOptions")
    gr, note = fuse_residual(graph_of(b.build([x, g], [y])))
    assert [op.type for op in gr.ops] == ["CONV_2D", "ADD"] and note == ""


@pytest.mark.parametrize("const_shape", [(1, 1, 1, 4), (1, 5, 5, 4)])
def test_hard_sigmoid_add_bit_exact(const_shape):
    r = check_bit_exact(hard_sigmoid_model(const_shape), trials=3)
    assert r["ops"] == 2


def one_element_model(kind):
    b = ModelBuilder()
    if kind == "CONV_2D":
        x = q8(b, "x", (1, 3, 3, 2), 0.05, 1)
        y = q8(b, "y", (1, 1, 1, 1), 0.3, -2)
        conv(b, x, y, 1, 3, 2, padding="VALID")
    elif kind == "CONV_2D_1x1":
        x = q8(b, "x", (1, 1, 1, 5), 0.05, 1)
        y = q8(b, "y", (1, 1, 1, 1), 0.2, 4)
        conv(b, x, y, 1, 1, 5)
    elif kind == "DEPTHWISE_CONV_2D":
        x = q8(b, "x", (1, 3, 3, 1), 0.05, 1)
        y = q8(b, "y", (1, 1, 1, 1), 0.1, 0)
        w = b.const("w", RNG.integers(-127, 128, (1, 3, 3, 1), dtype=np.int8), scale=[0.01], zero_point=[0],
                    quantized_dimension=3)
        bias = b.const("bias", np.array([77], np.int32), scale=[5e-4], zero_point=[0])
        b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], "DepthwiseConv2DOptions", Padding="VALID",
             StrideW=1, StrideH=1, DepthMultiplier=1, DilationWFactor=1, DilationHFactor=1)
    else:  # MEAN
        x = q8(b, "x", (1, 3, 3, 1), 0.05, 1)
        y = q8(b, "y", (1, 1, 1, 1), 0.03, 2)
        b.op("MEAN", [x, b.const("axes", np.array([1, 2], np.int32))], [y], "ReducerOptions", KeepDims=True)
    return b.build([x], [y])


@pytest.mark.parametrize("kind", ["CONV_2D", "CONV_2D_1x1", "DEPTHWISE_CONV_2D", "MEAN"])
def test_one_element_output_bit_exact(kind):
    data = one_element_model(kind)
    check_bit_exact(data, trials=6)
    # the np kernel runs it (no fallback) and allocates nothing per invoke
    from edge_rt.testing.conformance import traced_invokes
    it = Interpreter(pack(data, "one.tflite", kernels="np", check_budget=False).binary, kernels="np")
    assert it.op_kernel_sets == ["np"]
    assert traced_invokes(it)[0] == 0


def test_bind_failure_of_this_version_is_not_blamed_on_the_file(monkeypatch):
    from edge_rt import format as F
    from edge_rt.errors import ModelFormatError
    from edge_rt.kernels import np as np_kernels

    def broken(op, m, v, arena):
        raise ValueError("boom")
    monkeypatch.setitem(np_kernels.KERNELS, F.OP_MEAN, broken)
    binary = pack(one_element_model("MEAN"), "one.tflite", kernels="np", check_budget=False).binary
    with pytest.raises(ModelFormatError, match=r"op 0 \(MEAN\).*ValueError: boom.*packed by this edge_rt "
                                               r"version .*an edge_rt bug"):
        Interpreter(binary, kernels="np")
