"""Graph passes: each on a small hand-built graph (checking the graph it returns), the fused
ops bit-exact on both kernel sets, and every real model bit-exact with each pass disabled."""

import numpy as np
import pytest

from edge_rt.compiler.importers.tflite import import_tflite
from edge_rt.compiler.pack import pack
from edge_rt.compiler.planner import sequential_bound
from edge_rt.compiler.passes import PIPELINE, pass_names
from edge_rt.compiler.passes.fold_activation import fold_activation
from edge_rt.compiler.passes.fold_pad import fold_pad
from edge_rt.compiler.passes.fuse import fuse_depthwise_separable, fuse_residual
from edge_rt.compiler.passes.remove_dead import remove_dead, remove_identity_requantize
from edge_rt.testing.c_set import C_SETS
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.tflite_builder import ModelBuilder
from edge_rt.testing import shared_models

RNG = np.random.default_rng(7)


def q8(b, name, shape, scale=0.05, zp=0):
    return b.tensor(name, shape, "int8", scale, zp)


def conv_w(b, name, oc, kh, kw, ic):
    return b.const(name, RNG.integers(-127, 128, (oc, kh, kw, ic), dtype=np.int8),
                   scale=list(RNG.uniform(0.002, 0.02, oc)), zero_point=[0] * oc)


def bias(b, name, n):
    return b.const(name, RNG.integers(-500, 500, n, dtype=np.int32), scale=[1e-4] * n, zero_point=[0] * n)


def graph_of(data):
    g, problems = import_tflite(data)
    assert problems == []
    return g


# -- fold_pad ---------------------------------------------------------------------------
def pad_conv_model(depthwise=False, conv_padding="VALID"):
    b = ModelBuilder()
    x = q8(b, "x", (1, 6, 7, 3), 0.05, -5)
    pads = b.const("pads", np.array([[0, 0], [1, 2], [2, 1], [0, 0]], np.int32))
    p = q8(b, "p", (1, 9, 10, 3), 0.05, -5)
    if depthwise:
        w = b.const("w", RNG.integers(-127, 128, (1, 3, 3, 3), dtype=np.int8), scale=[0.01] * 3,
                    zero_point=[0] * 3, quantized_dimension=3)
        y = q8(b, "y", (1, 7, 8, 3) if conv_padding == "VALID" else (1, 9, 10, 3), 0.1, 3)
        b.op("PAD", [x, pads], [p])
        b.op("DEPTHWISE_CONV_2D", [p, w, bias(b, "b", 3)], [y], "DepthwiseConv2DOptions",
             Padding=conv_padding, StrideW=1, StrideH=1, DepthMultiplier=1,
             DilationWFactor=1, DilationHFactor=1)
    else:
        w = conv_w(b, "w", 4, 3, 3, 3)
        y = q8(b, "y", (1, 4, 4, 4), 0.1, 3)
        b.op("PAD", [x, pads], [p])
        b.op("CONV_2D", [p, w, bias(b, "b", 4)], [y], "Conv2DOptions", Padding=conv_padding,
             StrideW=2, StrideH=2, DilationWFactor=1, DilationHFactor=1)
    return b.build([x], [y])


def test_fold_pad_graph():
    g, note = fold_pad(graph_of(pad_conv_model()))
    assert [op.type for op in g.ops] == ["CONV_2D"]
    assert g.ops[0].options["padding"] == "EXPLICIT" and g.ops[0].options["pad"] == (1, 2, 2, 1)
    assert g.ops[0].source == [0, 1] and "folded 1 PAD" in note


def test_fold_pad_skips_same_padding():
    g, note = fold_pad(graph_of(pad_conv_model(depthwise=True, conv_padding="SAME")))
    assert [op.type for op in g.ops] == ["PAD", "DEPTHWISE_CONV_2D"] and note == ""


@pytest.mark.parametrize("depthwise", [False, True])
def test_fold_pad_bit_exact(depthwise):
    data = pad_conv_model(depthwise)
    r = check_bit_exact(data, trials=3)
    assert r["ops"] == 1  # the PAD is gone
    check_bit_exact(data, trials=2, disable=("fold_pad",))


# -- fold_activation --------------------------------------------------------------------
def conv_relu_model(act_conv="NONE", standalone="RELU", same=True):
    b = ModelBuilder()
    x = q8(b, "x", (1, 5, 5, 2), 0.05, 1)
    y = q8(b, "y", (1, 5, 5, 3), 0.04, -20)
    z = q8(b, "z", (1, 5, 5, 3), 0.04 if same else 0.05, -20)
    b.op("CONV_2D", [x, conv_w(b, "w", 3, 3, 3, 2), bias(b, "b", 3)], [y], "Conv2DOptions",
         Padding="SAME", StrideW=1, StrideH=1, FusedActivationFunction=act_conv)
    b.op(standalone, [y], [z])
    return b.build([x], [z])


@pytest.mark.parametrize("act,standalone,want", [("NONE", "RELU", "RELU"), ("NONE", "RELU6", "RELU6"),
                                                 ("RELU6", "RELU", "RELU6"), ("RELU", "RELU6", "RELU6")])
def test_fold_activation(act, standalone, want):
    data = conv_relu_model(act, standalone)
    g, note = fold_activation(graph_of(data))
    assert [op.type for op in g.ops] == ["CONV_2D"] and g.ops[0].options["activation"] == want
    assert g.ops[0].outputs == g.outputs
    assert check_bit_exact(data, trials=3)["ops"] == 1


def test_fold_activation_needs_same_quantization():
    g, note = fold_activation(graph_of(conv_relu_model(same=False)))
    assert [op.type for op in g.ops] == ["CONV_2D", "RELU"] and note == ""


# -- identity requantize, dead ops -------------------------------------------------------
def test_remove_identity_requantize_and_dead():
    b = ModelBuilder()
    x = q8(b, "x", (1, 8), 0.1, 2)
    h = q8(b, "h", (1, 8), 0.1, 2)
    q = q8(b, "q", (1, 8), 0.1, 2)
    y = q8(b, "y", (1, 8), 0.1, 2)
    unused = q8(b, "unused", (1, 8), 0.1, 2)
    b.op("RELU", [x], [h])
    b.op("QUANTIZE", [h], [q])
    b.op("RELU6", [q], [y])
    b.op("TANH", [h], [unused])  # nobody reads it
    data = b.build([x], [y])
    g, note = remove_identity_requantize(graph_of(data))
    assert [op.type for op in g.ops] == ["RELU", "RELU6", "TANH"] and g.ops[1].inputs == [h]
    g, note = remove_dead(g)
    assert [op.type for op in g.ops] == ["RELU", "RELU6"] and "removed 1 dead" in note
    assert check_bit_exact(data, trials=3)["ops"] == 2


# -- depthwise-separable fusion -----------------------------------------------------------
def ds_model(h=7, w=6, c=4, oc=4, stride=1, dil=1, padding="SAME", mult=1, kh=3):
    b = ModelBuilder()
    x = q8(b, "x", (1, h, w, c), 0.05, -3)
    cm = c * mult
    dw_w = b.const("dw", RNG.integers(-127, 128, (1, kh, kh, cm), dtype=np.int8),
                   scale=list(RNG.uniform(0.005, 0.02, cm)), zero_point=[0] * cm, quantized_dimension=3)
    eff = (kh - 1) * dil + 1
    oh = -(-h // stride) if padding == "SAME" else (h - eff + stride) // stride
    ow = -(-w // stride) if padding == "SAME" else (w - eff + stride) // stride
    m = q8(b, "m", (1, oh, ow, cm), 0.06, -128)
    y = q8(b, "y", (1, oh, ow, oc), 0.08, 4)
    b.op("DEPTHWISE_CONV_2D", [x, dw_w, bias(b, "db", cm)], [m], "DepthwiseConv2DOptions",
         Padding=padding, StrideW=stride, StrideH=stride, DepthMultiplier=mult,
         DilationWFactor=dil, DilationHFactor=dil, FusedActivationFunction="RELU")
    b.op("CONV_2D", [m, conv_w(b, "pw", oc, 1, 1, cm), bias(b, "pb", oc)], [y], "Conv2DOptions",
         Padding="VALID", StrideW=1, StrideH=1, FusedActivationFunction="RELU6")
    return b.build([x], [y])


def test_fuse_depthwise_separable_graph():
    g, note = fuse_depthwise_separable(graph_of(ds_model()))
    assert [op.type for op in g.ops] == ["DS_CONV_2D"] and "fused 1" in note
    assert g.ops[0].outputs == g.outputs and g.ops[0].source == [0, 1]


@pytest.mark.parametrize("kw", [{}, {"oc": 6}, {"stride": 2}, {"dil": 2, "h": 9, "w": 8},
                                {"padding": "VALID"}, {"mult": 2, "oc": 8}, {"kh": 5, "h": 8}])
def test_ds_conv_bit_exact(kw):
    data = ds_model(**kw)
    r = check_bit_exact(data, trials=3)
    assert r["ops"] == 1


def test_ds_conv_in_place_bit_exact():
    # RELU first so the fused op's input is an intermediate the planner may overwrite
    b = ModelBuilder()
    x = q8(b, "x", (1, 7, 5, 4), 0.05, -3)
    r = q8(b, "r", (1, 7, 5, 4), 0.05, -3)
    b.op("TANH", [x], [r])
    r_t = b.tensors[r]
    r_t.update(scale=[1 / 128], zero_point=[0])
    m = q8(b, "m", (1, 7, 5, 4), 0.06, -128)
    y = q8(b, "y", (1, 7, 5, 4), 0.08, 4)
    b.op("DEPTHWISE_CONV_2D", [r, b.const("dw", RNG.integers(-127, 128, (1, 3, 3, 4), dtype=np.int8),
                                          scale=[0.01] * 4, zero_point=[0] * 4, quantized_dimension=3),
                               bias(b, "db", 4)], [m], "DepthwiseConv2DOptions", Padding="SAME",
         StrideW=1, StrideH=1, DepthMultiplier=1, DilationWFactor=1, DilationHFactor=1)
    b.op("CONV_2D", [m, conv_w(b, "pw", 4, 1, 1, 4), bias(b, "pb", 4)], [y], "Conv2DOptions",
         Padding="VALID", StrideW=1, StrideH=1)
    data = b.build([x], [y])
    from edge_rt.reader import parse
    for ks in ("ref", "np"):
        mm = parse(pack(data, "t.tflite", kernels=ks).binary)
        ds = next(op for op in mm.ops if op.name == "DS_CONV_2D")
        assert mm.tensors[ds.inputs[0]].offset == mm.tensors[ds.outputs[0]].offset, ks
    check_bit_exact(data, trials=4)


# -- residual fusion -----------------------------------------------------------------------
def residual_model(conv_first=True, act="RELU"):
    b = ModelBuilder()
    x = q8(b, "x", (1, 6, 5, 4), 0.05, -3)
    s = q8(b, "s", (1, 6, 5, 4), 0.04, 2)
    c = q8(b, "c", (1, 6, 5, 4), 0.07, -1)
    y = q8(b, "y", (1, 6, 5, 4), 0.09, -10)
    b.op("CONV_2D", [x, conv_w(b, "w0", 4, 3, 3, 4), bias(b, "b0", 4)], [s], "Conv2DOptions",
         Padding="SAME", StrideW=1, StrideH=1, FusedActivationFunction="RELU")
    t = q8(b, "t", (1, 6, 5, 4), 0.06, -128)
    b.op("CONV_2D", [s, conv_w(b, "w1", 4, 3, 3, 4), bias(b, "b1", 4)], [t], "Conv2DOptions",
         Padding="SAME", StrideW=1, StrideH=1, FusedActivationFunction="RELU")
    b.op("CONV_2D", [t, conv_w(b, "w2", 4, 3, 3, 4), bias(b, "b2", 4)], [c], "Conv2DOptions",
         Padding="SAME", StrideW=1, StrideH=1)
    b.op("ADD", [c, s] if conv_first else [s, c], [y], "AddOptions", FusedActivationFunction=act)
    return b.build([x], [y])


def test_fuse_residual_skips_skip_feeding_the_conv():
    # x -> conv -> s -> conv -> c; ADD(c, s): writing over s would destroy the conv's input
    b = ModelBuilder()
    x = q8(b, "x", (1, 4, 4, 2), 0.05, 0)
    s = q8(b, "s", (1, 4, 4, 2), 0.05, 0)
    c = q8(b, "c", (1, 4, 4, 2), 0.05, 0)
    y = q8(b, "y", (1, 4, 4, 2), 0.05, 0)
    b.op("RELU", [x], [s])
    b.op("CONV_2D", [s, conv_w(b, "w", 2, 1, 1, 2)], [c], "Conv2DOptions", Padding="SAME",
         StrideW=1, StrideH=1)
    b.op("ADD", [c, s], [y], "AddOptions")
    g, note = fuse_residual(graph_of(b.build([x], [y])))
    assert [op.type for op in g.ops] == ["RELU", "CONV_2D", "ADD"] and note == ""


def test_fuse_residual_graph():
    g, note = fuse_residual(graph_of(residual_model()))
    assert [op.type for op in g.ops] == ["CONV_2D", "CONV_2D", "CONV_2D_ADD"] and "fused 1" in note


@pytest.mark.parametrize("conv_first", [True, False])
@pytest.mark.parametrize("act", ["NONE", "RELU"])
def test_conv_add_bit_exact(conv_first, act):
    data = residual_model(conv_first, act)
    assert check_bit_exact(data, trials=3)["ops"] == 3
    check_bit_exact(data, trials=2, disable=("fuse_residual",))


# -- the pipeline on real models ------------------------------------------------------------
_real = shared_models.load


def test_list_passes_cli(capsys):
    from edge_rt.host.cli import main
    assert main(["pack", "--list-passes"]) == 0
    out = capsys.readouterr().out
    for p in PIPELINE:
        assert p.__name__ in out


@pytest.mark.parametrize("disabled", pass_names())
@pytest.mark.parametrize("name", ["micro_speech_int8", "kws_dscnn_int8", "ic_resnet8_int8"])
def test_real_models_bit_exact_each_pass_disabled(name, disabled):
    check_bit_exact(_real(name), trials=3, kernel_sets=("np",) + C_SETS, disable=(disabled,))


@pytest.mark.parametrize("name", ["kws_dscnn_int8", "ic_resnet8_int8"])
def test_passes_shrink_real_models(name):
    data = _real(name)
    on = pack(data, name, kernels="ref")
    off = pack(data, name, kernels="ref", disable=tuple(pass_names()))
    assert len(on.graph.ops) < len(off.graph.ops)
    assert on.plan.arena_bytes < sequential_bound(off.graph)  # below the unfused sequential bound


def fc_residual_model(fc_first):
    b = ModelBuilder()
    x = q8(b, "x", (2, 12), 0.05, -3)
    s = q8(b, "s", (2, 12), 0.04, 2)
    c = q8(b, "c", (2, 12), 0.07, -1)
    y = q8(b, "y", (2, 12), 0.09, -10)
    b.op("RELU", [x], [s])
    b.tensors[s].update(scale=[0.05], zero_point=[-3])
    w = b.const("w", RNG.integers(-127, 128, (12, 12), dtype=np.int8), scale=0.01)
    b.op("FULLY_CONNECTED", [x, w, bias(b, "b", 12)], [c], "FullyConnectedOptions")
    b.op("ADD", [c, s] if fc_first else [s, c], [y], "AddOptions", FusedActivationFunction="RELU")
    return b.build([x], [y])


@pytest.mark.parametrize("fc_first", [True, False])
def test_fc_add_bit_exact(fc_first):
    data = fc_residual_model(fc_first)
    g, note = fuse_residual(graph_of(data))
    assert [op.type for op in g.ops] == ["RELU", "FULLY_CONNECTED_ADD"]
    assert check_bit_exact(data, trials=4)["ops"] == 2


def test_dedupe_constants():
    from edge_rt.compiler.passes.dedupe_constants import dedupe_constants
    b = ModelBuilder()
    x = q8(b, "x", (1, 8), 0.05, 0)
    h = q8(b, "h", (1, 8), 0.05, 0)
    y = q8(b, "y", (1, 8), 0.05, 0)
    wd = RNG.integers(-127, 128, (8, 8), dtype=np.int8)
    w1 = b.const("w1", wd, scale=0.01)
    w2 = b.const("w2", wd.copy(), scale=0.01)
    w3 = b.const("w3", wd.copy(), scale=0.02)  # same bytes, other scale: kept
    b.op("FULLY_CONNECTED", [x, w1, -1], [h], "FullyConnectedOptions")
    h2 = q8(b, "h2", (1, 8), 0.05, 0)
    b.op("FULLY_CONNECTED", [h, w2, -1], [h2], "FullyConnectedOptions")
    b.op("FULLY_CONNECTED", [h2, w3, -1], [y], "FullyConnectedOptions")
    data = b.build([x], [y])
    g, note = dedupe_constants(graph_of(data))
    assert g.ops[1].inputs[1] == w1 and "merged 1" in note and "64 B" in note
    assert g.ops[2].inputs[1] == w3
    check_bit_exact(data, trials=2)


# -- graph-edge QUANTIZE / DEQUANTIZE folded into set_input / get_output ---------------------
def float_io_model():
    b = ModelBuilder()
    xf = b.tensor("xf", (2, 16), "float32")
    x = q8(b, "x", (2, 16), 0.05, -3)
    w = b.const("w", RNG.integers(-127, 128, (8, 16), dtype=np.int8), scale=0.01)
    y = q8(b, "y", (2, 8), 0.1, 4)
    yf = b.tensor("yf", (2, 8), "float32")
    b.op("QUANTIZE", [xf], [x])
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    b.op("DEQUANTIZE", [y], [yf])
    return b.build([xf], [yf])


SPECIAL = np.array([[0.025, -0.025, 0.075, -0.075, 1e30, -1e30, np.inf, -np.inf, np.nan, 0.0, -0.0,
                     6.4, -6.4, 0.0749999, 3.2, -3.2]] * 2, np.float32)


def test_fold_io_quantize():
    import edge_rt
    data = float_io_model()
    on = pack(data, "f.tflite", kernels="ref")
    off = pack(data, "f.tflite", kernels="ref", disable=("fold_io_quantize",))
    assert [op.type for op in on.graph.ops] == ["FULLY_CONNECTED"]
    assert on.plan.arena_bytes < off.plan.arena_bytes
    it = edge_rt.Interpreter(on.binary, kernels="ref")
    (d,) = it.input_details()
    assert d["dtype"] == np.float32 and d["name"] == "xf" and d["converted_to"]["zero_point"] == -3
    assert it.output_details()[0]["dtype"] == np.float32
    # halves, signed zeros, out-of-range, infinities and NaN, exactly as the folded ops
    check_bit_exact(data, trials=4)
    check_bit_exact(data, inputs=[(SPECIAL,)])
    check_bit_exact(data, inputs=[(SPECIAL,)], disable=("fold_io_quantize",))


def test_io_convert_pure_python_matches_numpy():
    from edge_rt import io_convert
    rng = np.random.default_rng(3)
    x = np.concatenate([SPECIAL.ravel(), rng.normal(0, 4, 500).astype(np.float32),
                        (np.arange(-300, 300) * 0.025).astype(np.float32)])
    for scale, zp in ((0.05, -3), (0.025, 0), (0.3, 127), (1e-3, -128)):
        a = np.zeros(x.size, np.int8)
        io_convert.quantize_np(x, scale, zp, a)
        b = memoryview(bytearray(x.size)).cast("b")
        io_convert.quantize_py(list(x.tolist()), float(np.float32(scale)), zp, b)
        assert np.array_equal(a, np.frombuffer(b, np.int8)), (scale, zp)
        q = np.arange(-128, 128, dtype=np.int8)
        assert np.array_equal(io_convert.dequantize_np(q, float(np.float32(scale)), zp),
                              np.array(io_convert.dequantize_py(q.tolist(), float(np.float32(scale)), zp),
                                       np.float32))


# -- chains of per-element ops -> one lookup ------------------------------------------------
def chain_model():
    b = ModelBuilder()
    x = q8(b, "x", (1, 5, 7), 0.05, -3)
    h = q8(b, "h", (1, 5, 7), 0.04, 10)
    t = b.tensor("t", (1, 5, 7), "int8", 1 / 128, 0)
    q = q8(b, "q", (1, 5, 7), 0.03, -20)
    y = q8(b, "y", (1, 5, 7), 0.02, 5)
    b.op("LEAKY_RELU", [x], [h], "LeakyReluOptions", Alpha=0.2)
    b.op("TANH", [h], [t])
    b.op("QUANTIZE", [t], [q])
    b.op("HARD_SWISH", [q], [y])
    return b.build([x], [y])


def test_fuse_lookup_chain():
    from edge_rt.compiler.passes.fuse_lookup import fuse_lookup_chain
    g, note = fuse_lookup_chain(graph_of(chain_model()))
    assert [op.type for op in g.ops] == ["LOOKUP"] and "merged 4" in note
    assert g.ops[0].source == [0, 1, 2, 3]
    # every int8 input value, through the single lookup, on both kernel sets
    allv = np.resize(np.arange(-128, 128), 8 * 35).reshape(8, 1, 5, 7)
    check_bit_exact(chain_model(), inputs=[(a.astype(np.int8),) for a in allv])
    check_bit_exact(chain_model(), trials=3, disable=("fuse_lookup_chain",))
