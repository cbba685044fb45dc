"""The numpy kernel set allocates nothing during invoke(): after a first invoke, 20 more run
under tracemalloc (which sees numpy's array allocations) with no growth and a peak below
4 KiB (transient Python objects only), for every shipped int8 model and for single-op models
of the element-wise ops. Also checks the vectorized requantization against the scalar
reference on random and tie-prone values (its correctness argument is in requant.py)."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.interpreter import Interpreter
from edge_rt.kernels.np.requant import Plan
from edge_rt.kernels.quant import mbqm
from edge_rt.testing.c_set import C_SETS
from edge_rt.testing.conformance import check_bit_exact, traced_invokes
from edge_rt.testing.reference import random_input
from edge_rt.testing.tflite_builder import ModelBuilder

MODELS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "models", "*_int8.tflite")))
PEAK_LIMIT = 4096


KS = ("np",) + C_SETS  # the C set (when built): its whole schedule is one C call per run of C ops


def _interpreter(data: bytes, name: str, ks: str = "np") -> Interpreter:
    it = Interpreter(pack(data, name, kernels=ks, check_budget=False).binary, kernels=ks)
    rng = np.random.default_rng(0)
    for i, d in enumerate(it.input_details()):
        it.set_input(i, random_input(d["shape"], d["dtype"], rng))
    return it


@pytest.mark.skipif(not MODELS, reason="no shipped models in ../shared/models")
@pytest.mark.parametrize("ks", KS)
@pytest.mark.parametrize("path", MODELS, ids=os.path.basename)
def test_model_invoke_allocates_nothing(path, ks):
    with open(path, "rb") as f:
        it = _interpreter(f.read(), os.path.basename(path), ks)
    growth, peak = traced_invokes(it)
    assert growth <= 0, f"{os.path.basename(path)}: {growth} bytes retained over 20 invokes"
    assert peak < PEAK_LIMIT, f"{os.path.basename(path)}: traced peak {peak} bytes during invoke"


def _single_op_models():
    """Small models covering the element-wise, pooling and quantize kernels."""
    out = {}
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 6, 8), "int8", 0.05, 3)
    y = b.tensor("y", (1, 6, 6, 8), "int8", 0.04, -7)
    z = b.tensor("z", (1, 6, 6, 8), "int8", 0.07, 1)
    b.op("ADD", [x, y], [z], "AddOptions", FusedActivationFunction="NONE")
    out["add"] = b.build([x, y], [z])
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 6, 8), "int8", 0.05, 3)
    y = b.tensor("y", (8,), "int8", 0.04, -7)
    z = b.tensor("z", (1, 6, 6, 8), "int8", 0.01, 1)
    b.op("MUL", [x, y], [z], "MulOptions", FusedActivationFunction="RELU")
    out["mul_broadcast"] = b.build([x, y], [z])
    for kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        b = ModelBuilder()
        x = b.tensor("x", (1, 9, 9, 4), "int8", 0.05, 3)
        y = b.tensor("y", (1, 5, 5, 4), "int8", 0.05, 3)
        b.op(kind, [x], [y], "Pool2DOptions", Padding="SAME", StrideH=2, StrideW=2,
             FilterHeight=3, FilterWidth=3, FusedActivationFunction="NONE")
        out[kind.lower()] = b.build([x], [y])
    for kind, q_out in (("LOGISTIC", (1 / 256, -128)), ("TANH", (1 / 128, 0))):
        b = ModelBuilder()
        x = b.tensor("x", (1, 300), "int8", 0.05, 3)
        y = b.tensor("y", (1, 300), "int8", *q_out)
        b.op(kind, [x], [y])
        out[kind.lower()] = b.build([x], [y])
    b = ModelBuilder()
    x = b.tensor("x", (2, 10), "int8", 0.1, 5)
    y = b.tensor("y", (2, 10), "int8", 1 / 256, -128)
    b.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=1.0)
    out["softmax_2rows"] = b.build([x], [y])
    b = ModelBuilder()  # float in and out: QUANTIZE, ADD of a constant, DEQUANTIZE
    xf = b.tensor("xf", (1, 3, 5, 4), "float32")
    x = b.tensor("x", (1, 3, 5, 4), "int8", 0.03, -2)
    c = b.const("c", np.arange(-10, 10, dtype=np.int8).reshape(1, 1, 5, 4), 0.05, 1)
    y = b.tensor("y", (1, 3, 5, 4), "int8", 0.06, 3)
    yf = b.tensor("yf", (1, 3, 5, 4), "float32")
    b.op("QUANTIZE", [xf], [x])
    b.op("ADD", [x, c], [y], "AddOptions", FusedActivationFunction="RELU6")
    b.op("DEQUANTIZE", [y], [yf])
    out["quantize_add_dequantize"] = b.build([xf], [yf])
    b = ModelBuilder()  # the rest of the element-wise and data-movement ops in one chain
    x = b.tensor("x", (1, 4, 4, 6), "int8", 0.05, 3)
    r = b.tensor("r", (1, 4, 4, 6), "int8", 0.04, -10)
    b.op("RELU", [x], [r])
    lk = b.tensor("lk", (1, 4, 4, 6), "int8", 0.03, 2)
    b.op("LEAKY_RELU", [r], [lk], "LeakyReluOptions", Alpha=0.2)
    hs = b.tensor("hs", (1, 4, 4, 6), "int8", 0.03, -5)
    b.op("HARD_SWISH", [lk], [hs])
    pads = b.const("pads", np.array([[0, 0], [1, 1], [0, 2], [0, 0]], np.int32))
    pd = b.tensor("pd", (1, 6, 6, 6), "int8", 0.03, -5)
    b.op("PAD", [hs, pads], [pd])
    cc = b.tensor("cc", (1, 6, 6, 12), "int8", 0.03, -5)
    b.op("CONCATENATION", [pd, pd], [cc], "ConcatenationOptions", Axis=3, FusedActivationFunction="NONE")
    axes = b.const("axes", np.array([1, 2], np.int32))
    mn = b.tensor("mn", (1, 12), "int8", 0.02, 1)
    b.op("MEAN", [cc, axes], [mn], "ReducerOptions", KeepDims=False)
    q = b.tensor("q", (1, 12), "int8", 0.05, -3)
    b.op("QUANTIZE", [mn], [q])
    out["relu_leaky_hswish_pad_concat_mean_quantize"] = b.build([x], [q])
    return out


@pytest.mark.parametrize("ks", KS)
@pytest.mark.parametrize("name,data", list(_single_op_models().items()))
def test_single_op_invoke_allocates_nothing(name, data, ks):
    check_bit_exact(data, trials=2, kernel_sets=(ks,), all_c=True)  # valid, exact, all on C for c
    it = _interpreter(data, name + ".tflite", ks)
    if ks == "c":
        assert len(it._run) == 1  # the whole schedule is one C call
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < PEAK_LIMIT, f"{name}: growth {growth}, peak {peak} bytes"


def _run_plan(mult, shift, off, lo, hi, xs, acc):
    rows, n = xs.shape
    p = Plan(mult, shift, off, lo, hi, n, xmax=[int(np.abs(xs).max())] * n, acc=acc, rows=rows)
    f = xs.astype(acc)
    t = np.zeros((rows, n), np.int64)
    s = np.zeros_like(t)
    y = np.zeros((rows, n), np.int8)
    if acc == np.int64:
        t[...] = xs
        f = t
    for fn, args in p.steps(f, t, s, y):
        fn(*args)
    return y


@pytest.mark.parametrize("acc", [np.float32, np.int64])
def test_requant_matches_scalar_reference(acc):
    rng = np.random.default_rng(7)
    for trial in range(90):
        n = int(rng.integers(1, 5))
        mult = rng.integers(1 << 30, 1 << 31, n)
        shift = rng.integers(-14, 3 if trial % 3 == 0 else 1, n)
        if trial % 4 == 0:
            mult[:], shift[:] = mult[0], shift[0]
        off = int(rng.integers(-128, 128))
        lo, hi = sorted(int(v) for v in rng.integers(-128, 128, 2))
        if trial % 3 == 1:  # the fused-ReLU shape: act_min == output zero point
            off, lo, hi = lo, lo, max(hi, lo)
        xmax = int(rng.choice([1 << 12, 1 << 18, (1 << 24) - 1]))
        xs = rng.integers(-xmax, xmax + 1, (48, n))
        xs[:4] = np.array([-xmax, xmax, 0, -1])[:, None]
        got = _run_plan(mult, shift, off, lo, hi, xs, acc)
        want = [[min(hi, max(lo, mbqm(int(xs[i, j]), int(mult[j]), int(shift[j])) + off)) for j in range(n)]
                for i in range(xs.shape[0])]
        assert np.array_equal(got, np.array(want)), (trial, mult, shift, off, lo, hi)


def test_requant_double_rounding_ties():
    """Every x in a range for shifts 1..6: includes the values where single rounding differs."""
    xs = np.arange(-6000, 6000).reshape(-1, 1)
    for e in range(1, 7):
        for m in (1 << 30, (1 << 30) + 1, (1 << 31) - 1, 1500000001):
            got = _run_plan([m], [-e], 0, -128, 127, xs, np.float32)[:, 0]
            want = [min(127, max(-128, mbqm(int(x), m, -e))) for x in xs[:, 0]]
            assert np.array_equal(got, np.array(want)), (e, m)


def _gemm_models():
    """Shapes that exercise the banding, batching, dilation, depth multipliers and the
    float64 fallback of the GEMM kernels (float32 exactness bound exceeded)."""
    rng = np.random.default_rng(3)
    out = {}

    def conv(name, xshape, oc, k, stride, dil, padding, batch=1, dw=False, dm=1, per_channel=True):
        b = ModelBuilder()
        n, h, w, c = batch, xshape[0], xshape[1], xshape[2]
        x = b.tensor("x", (n, h, w, c), "int8", 0.05, -3)
        ocs = c * dm if dw else oc
        wshape = (1, k, k, ocs) if dw else (ocs, k, k, c)
        ws = list(rng.uniform(0.004, 0.02, ocs)) if per_channel else [0.01]
        wt = b.const("w", rng.integers(-127, 128, wshape, dtype=np.int8), scale=ws,
                     zero_point=[0] * len(ws), quantized_dimension=3 if dw else 0)
        bias = b.const("b", rng.integers(-3000, 3000, ocs, dtype=np.int32), scale=[s * 0.05 for s in ws],
                       zero_point=[0] * len(ws))
        ek = (k - 1) * dil + 1
        oh, ow = ((-(-h // stride), -(-w // stride)) if padding == "SAME"
                  else ((h - ek) // stride + 1, (w - ek) // stride + 1))
        y = b.tensor("y", (n, oh, ow, ocs), "int8", 0.05 * 0.01 * k * (c if not dw else 1) * 3, 7)
        kind, opts = (("DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions") if dw else ("CONV_2D", "Conv2DOptions"))
        extra = {"DepthMultiplier": dm} if dw else {}
        b.op(kind, [x, wt, bias], [y], opts, Padding=padding, StrideW=stride, StrideH=stride,
             DilationWFactor=dil, DilationHFactor=dil, FusedActivationFunction="NONE", **extra)
        out[name] = b.build([x], [y])

    conv("conv_bands_batch2", (40, 12, 8), 24, 3, 1, 1, "SAME", batch=2)
    conv("conv_dilated_stride2", (17, 13, 5), 6, 3, 2, 2, "SAME")
    conv("conv_per_tensor_valid", (9, 9, 4), 5, 2, 1, 1, "VALID", per_channel=False)
    conv("dw_multiplier2", (15, 11, 3), 0, 3, 1, 1, "SAME", dw=True, dm=2)
    conv("dw_dilated_bands", (40, 9, 16), 0, 3, 1, 2, "VALID", dw=True)
    conv("dw_one_channel", (20, 16, 1), 0, 5, 2, 1, "SAME", dw=True, dm=4)
    b = ModelBuilder()  # K = 3000 with large weights: beyond the float32 bound
    x = b.tensor("x", (3, 3000), "int8", 0.05, 2)
    wt = b.const("w", rng.integers(-127, 128, (7, 3000), dtype=np.int8), scale=0.01)
    bias = b.const("b", rng.integers(-500, 500, 7, dtype=np.int32), scale=0.0005)
    y = b.tensor("y", (3, 7), "int8", 0.5, -1)
    b.op("FULLY_CONNECTED", [x, wt, bias], [y], "FullyConnectedOptions", FusedActivationFunction="NONE")
    out["fc_float64_batch3"] = b.build([x], [y])
    return out


@pytest.mark.parametrize("ks", KS)
@pytest.mark.parametrize("name,data", list(_gemm_models().items()))
def test_gemm_kernels_bit_exact_and_allocation_free(name, data, ks):
    check_bit_exact(data, trials=3, kernel_sets=(ks,))
    it = _interpreter(data, name + ".tflite", ks)
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < PEAK_LIMIT, f"{name}: growth {growth}, peak {peak} bytes"


def test_depthwise_float64_accumulator_bit_exact_and_allocation_free():
    """A bias beyond the float32 bound (|bias| > 2**24) makes the depthwise accumulate in
    float64: staged input, filter and accumulator all float64, so einsum never mixes dtypes."""
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = b.tensor("x", (1, 9, 7, 4), "int8", 0.05, 3)
    wt = b.const("w", rng.integers(-127, 128, (1, 3, 3, 4), dtype=np.int8), scale=[0.01] * 4,
                 zero_point=[0] * 4, quantized_dimension=3)
    bias = b.const("b", np.array([1 << 25, -(1 << 25), 3 << 24, 12345], np.int32), scale=[0.0005] * 4,
                   zero_point=[0] * 4)
    y = b.tensor("y", (1, 9, 7, 4), "int8", 200.0, 0)
    b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], "DepthwiseConv2DOptions", Padding="SAME", StrideW=1,
         StrideH=1, DepthMultiplier=1, DilationWFactor=1, DilationHFactor=1, FusedActivationFunction="NONE")
    data = b.build([x], [y])
    from edge_rt.kernels.np._conv_common import gemm_dtype
    assert gemm_dtype(np.ones((4, 9), np.int8), np.array([1 << 25]))[0] == np.float64
    check_bit_exact(data, trials=3, kernel_sets=KS)
    it = _interpreter(data, "dw_f64.tflite")
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < PEAK_LIMIT, (growth, peak)
