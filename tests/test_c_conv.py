"""The C convolution kernels (CONV_2D, DEPTHWISE_CONV_2D and the fused CONV_2D_ADD, DS_CONV_2D,
FULLY_CONNECTED_ADD) bit-exact against TFLite Micro on every SIMD path this CPU has: strides,
dilations, SAME/VALID/explicit padding (padded taps with a non-zero input zero point), depth
multipliers, batches, in-place residual and depthwise-separable streaming."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.interpreter import Interpreter
from edge_rt.testing.c_set import C_BUILT, SKIP_REASON, simd_masks
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.tflite_builder import ModelBuilder

pytestmark = pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON)
MASKS = simd_masks()


def _wb(b, rng, name, wshape, oc, qdim, in_scale):
    ws = rng.uniform(0.004, 0.02, oc)
    w = b.const(name + "w", rng.integers(-127, 128, wshape, dtype=np.int8), scale=list(ws), zero_point=[0] * oc,
                quantized_dimension=qdim)
    bias = b.const(name + "b", rng.integers(-3000, 3000, oc, dtype=np.int32), scale=list(ws * in_scale),
                   zero_point=[0] * oc)
    return w, bias, ws


def _out(h, k, s, d, padding):
    eff = (k - 1) * d + 1
    return -(-h // s) if padding == "SAME" else (h - eff) // s + 1


def conv_model(xshape, oc, k, stride=1, dil=1, padding="SAME", act="NONE", in_zp=7, depthwise=False, dm=1,
               seed=0):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    n, h, w, c = xshape
    x = b.tensor("x", xshape, "int8", 0.05, in_zp)
    kh, kw = (k, k) if isinstance(k, int) else k
    oh, ow = _out(h, kh, stride, dil, padding), _out(w, kw, stride, dil, padding)
    if depthwise:
        oc = c * dm
        wt, bias, ws = _wb(b, rng, "c", (1, kh, kw, oc), oc, 3, 0.05)
        taps = kh * kw
    else:
        wt, bias, ws = _wb(b, rng, "c", (oc, kh, kw, c), oc, 0, 0.05)
        taps = kh * kw * c
    y = b.tensor("y", (n, oh, ow, oc), "int8", float(0.05 * ws.mean() * np.sqrt(taps) * 40), -3)
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], "DepthwiseConv2DOptions", Padding=padding, StrideW=stride,
             StrideH=stride, DepthMultiplier=dm, DilationWFactor=dil, DilationHFactor=dil, FusedActivationFunction=act)
    else:
        b.op("CONV_2D", [x, wt, bias], [y], "Conv2DOptions", Padding=padding, StrideW=stride, StrideH=stride,
             DilationWFactor=dil, DilationHFactor=dil, FusedActivationFunction=act)
    return b.build([x], [y])


CONV_CASES = [((1, 8, 8, 3), 8, 3, 1, 1, "SAME", "RELU"), ((1, 9, 7, 5), 6, 3, 2, 1, "SAME", "NONE"),
              ((2, 6, 6, 4), 5, 1, 1, 1, "VALID", "RELU6"), ((1, 10, 10, 16), 20, 3, 1, 2, "SAME", "NONE"),
              ((1, 7, 9, 33), 9, (3, 2), 2, 1, "VALID", "NONE"), ((1, 5, 5, 64), 36, 1, 1, 1, "SAME", "NONE"),
              ((1, 12, 4, 1), 7, (5, 3), 1, 1, "SAME", "RELU"),
              # the VNNI input window (kw*ic a multiple of 4): windows of several output rows
              # (stride 2, kws's 10x4 first layer), two batches with 40 channels
              ((1, 9, 8, 16), 12, 3, 2, 1, "SAME", "RELU"), ((1, 49, 10, 1), 64, (10, 4), 2, 1, "SAME", "RELU"),
              ((2, 7, 6, 4), 40, (3, 4), 1, 1, "VALID", "NONE")]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv_2d(case, mask, monkeypatch):
    monkeypatch.setenv("EDGE_RT_C_FEATURES", str(mask))
    xs, oc, k, s, d, pad, act = CONV_CASES[case]
    check_bit_exact(conv_model(xs, oc, k, s, d, pad, act, seed=case), trials=3, kernel_sets=("c",))


DW_CASES = [((1, 8, 8, 8), 3, 1, 1, "SAME", 1), ((1, 9, 9, 5), 3, 2, 1, "SAME", 1), ((2, 7, 6, 3), 3, 1, 1, "VALID", 2),
            ((1, 10, 10, 16), 3, 1, 2, "SAME", 1), ((1, 6, 6, 4), (5, 3), 2, 1, "SAME", 3),
            ((1, 5, 5, 40), 3, 1, 1, "SAME", 1), ((1, 12, 10, 1), (5, 4), 2, 1, "SAME", 8),
            ((1, 9, 9, 1), (3, 5), 1, 2, "SAME", 20), ((1, 7, 6, 1), 3, 1, 1, "VALID", 3),
            # the VNNI flat-row depthwise: channel chunks (C % 16 == 0, stride 2, 3x5) and lanes
            # spanning pixels (16 % C == 0, row bytes not a multiple of 16)
            ((1, 9, 8, 32), 3, 2, 1, "SAME", 1), ((1, 6, 7, 64), (3, 5), 1, 1, "SAME", 1),
            ((1, 7, 5, 2), 3, 1, 1, "VALID", 1), ((1, 5, 7, 4), 3, 1, 2, "SAME", 1),
            # the 3x3 stride-1 row kernel (C % 32 == 0): one and three channel blocks, padded or not
            ((1, 7, 5, 64), 3, 1, 1, "SAME", 1), ((2, 6, 9, 96), 3, 1, 1, "VALID", 1), ((1, 4, 1, 32), 3, 1, 1, "SAME", 1)]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("case", range(len(DW_CASES)))
def test_depthwise_conv_2d(case, mask, monkeypatch):
    monkeypatch.setenv("EDGE_RT_C_FEATURES", str(mask))
    xs, k, s, d, pad, dm = DW_CASES[case]
    check_bit_exact(conv_model(xs, 0, k, s, d, pad, "RELU6", depthwise=True, dm=dm, seed=case), trials=3,
                    kernel_sets=("c",))


def _chain(kind, xshape, seed=0, pad_top=1, stride=1):
    """DEPTHWISE -> 1x1 CONV (fused to DS_CONV_2D), CONV -> ADD(skip) (CONV_2D_ADD),
    FC -> ADD(skip) (FULLY_CONNECTED_ADD)."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", xshape, "int8", 0.05, 9)
    if kind == "ds":  # two depthwise-separable blocks: the second may run in place
        n, h, w, c = xshape
        k = 2 * pad_top + 1
        t = x
        for i in range(2):
            s_ = stride if i == 0 else 1
            dwt, dwb, ws = _wb(b, rng, f"d{i}", (1, k, k, c), c, 3, 0.05)
            h, w = -(-h // s_), -(-w // s_)
            m = b.tensor(f"m{i}", (n, h, w, c), "int8", 0.06, -128)
            b.op("DEPTHWISE_CONV_2D", [t, dwt, dwb], [m], "DepthwiseConv2DOptions", Padding="SAME", StrideW=s_,
                 StrideH=s_, DepthMultiplier=1, DilationWFactor=1, DilationHFactor=1, FusedActivationFunction="RELU6")
            pwt, pwb, ws = _wb(b, rng, f"p{i}", (c, 1, 1, c), c, 0, 0.06)
            t = b.tensor(f"y{i}", (n, h, w, c), "int8", 0.05, 9)
            b.op("CONV_2D", [m, pwt, pwb], [t], "Conv2DOptions", Padding="SAME", StrideW=1, StrideH=1,
                 DilationWFactor=1, DilationHFactor=1, FusedActivationFunction="RELU")
        return b.build([x], [t])
    if kind == "conv_add":  # skip = a 1x1 branch of x, fused with the 3x3 branch
        n, h, w, c = xshape
        at, ab, _ = _wb(b, rng, "a", (c, 1, 1, c), c, 0, 0.05)
        a = b.tensor("a", xshape, "int8", 0.09, 6)
        b.op("CONV_2D", [x, at, ab], [a], "Conv2DOptions", Padding="SAME", StrideW=1, StrideH=1,
             DilationWFactor=1, DilationHFactor=1, FusedActivationFunction="NONE")
        wt, bias, _ = _wb(b, rng, "c", (c, 3, 3, c), c, 0, 0.05)
        m = b.tensor("m", xshape, "int8", 0.08, -5)
        b.op("CONV_2D", [x, wt, bias], [m], "Conv2DOptions", Padding="SAME", StrideW=1, StrideH=1,
             DilationWFactor=1, DilationHFactor=1, FusedActivationFunction="NONE")
        y = b.tensor("y", xshape, "int8", 0.1, 4)
        b.op("ADD", [m, a], [y], "AddOptions", FusedActivationFunction="RELU")
        return b.build([x], [y])
    n, k = xshape  # FC -> skip a, FC -> m, ADD(a, m): the second FC feeds ADD's second input
    ms = []
    for name in ("a", "m"):
        w = b.const(name + "w", rng.integers(-127, 128, (k, k), dtype=np.int8), 0.01, 0)
        bias = b.const(name + "b", rng.integers(-500, 500, k, dtype=np.int32), 0.0005, 0)
        ms.append(b.tensor(name, xshape, "int8", 0.1, -10))
        b.op("FULLY_CONNECTED", [x, w, bias], [ms[-1]], "FullyConnectedOptions", FusedActivationFunction="RELU")
    y = b.tensor("y", xshape, "int8", 0.12, 3)
    b.op("ADD", ms, [y], "AddOptions", FusedActivationFunction="NONE")
    return b.build([x], [y])


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("kind,shape,pad_top,stride", [("ds", (1, 8, 8, 16), 1, 1), ("ds", (2, 6, 5, 8), 2, 1),
                                                      ("ds", (1, 9, 9, 8), 1, 2), ("ds", (1, 9, 7, 32), 1, 2), ("ds", (1, 25, 5, 64), 1, 1),
                                                      ("ds", (1, 5, 6, 4), 1, 1), ("conv_add", (1, 6, 6, 8), 0, 1),
                                                      ("conv_add", (2, 5, 4, 3), 0, 1), ("fc_add", (1, 24), 0, 1),
                                                      ("fc_add", (3, 17), 0, 1)])
def test_fused_ops(kind, shape, pad_top, stride, mask, monkeypatch):
    monkeypatch.setenv("EDGE_RT_C_FEATURES", str(mask))
    data = _chain(kind, shape, pad_top=pad_top, stride=stride)
    r = pack(data, "fused.tflite", kernels="c", check_budget=False)
    want = {"ds": "DS_CONV_2D", "conv_add": "CONV_2D_ADD", "fc_add": "FULLY_CONNECTED_ADD"}[kind]
    assert want in [op.type for op in r.graph.ops]
    assert Interpreter(r.binary).op_kernel_sets[[op.type for op in r.graph.ops].index(want)] == "c"
    check_bit_exact(data, trials=3, kernel_sets=("c",))


def test_ds_conv_runs_in_place_when_planned_so():
    """The planner may put DS_CONV_2D's output over its input (same shape, stride 1): the C
    kernel then streams through its ring of saved rows, still bit-exact."""
    data = _chain("ds", (1, 10, 6, 8), pad_top=2)
    r = pack(data, "ds.tflite", kernels="c", check_budget=False)
    it = Interpreter(r.binary)
    op = [o for o in it.model.ops if o.name == "DS_CONV_2D"][1]
    tx, ty = it.model.tensors[op.inputs[0]], it.model.tensors[op.outputs[0]]
    assert tx.offset == ty.offset, "expected the planner to place the output over the input"
    check_bit_exact(data, trials=3, kernel_sets=("c",))
