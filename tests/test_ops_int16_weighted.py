"""int16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (int16 activations with zero point 0,
int8 symmetric weights, int64 or int32 bias) against TFLite Micro, 0 LSB, on the np and ref
kernel sets, and packed for c / viper (those sets are int8 only: each int16 op must resolve to
np or ref and stay exact). The bias type selects TFLite Micro's accumulator and rounding (int64:
MultiplyByQuantizedMultiplier's int64 overload; int32: the int32 one, double rounding), so
both are swept where the reference has them."""
import numpy as np
import pytest

from edge_rt import format as F
from edge_rt.compiler.kernel_sets import c_available
from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.testing.conformance import check_bit_exact, traced_invokes
from edge_rt.testing.tflite_builder import ModelBuilder

KINDS = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions"}


def _scales(rng, n, per_channel):
    return list(rng.uniform(0.002, 0.02, n)) if per_channel else [0.01]


def _out_scale(in_s, ws, k, real):
    """An output scale putting a typical accumulator (K products of uniform int16 x int8) near
    `real` * 8000 LSB: real = 1 gives mid-range outputs, above saturates more, below rounds more."""
    typical = 32768 / 3 ** 0.5 * 127 / 3 ** 0.5 * k ** 0.5
    return float(in_s * float(np.mean(ws)) * typical / (8000 * real))


def _bias(b, rng, n, ws, in_s, dtype, mag):
    """Uniform in [-mag, mag]; a negative mag: every value is -mag (e.g. a bias at the int32 limit)."""
    if dtype is None:
        return -1
    vals = (np.full(n, -mag) if mag < 0 else rng.integers(-mag, mag + 1, n, dtype=np.int64)).astype(dtype)
    return b.const("bias", vals, scale=[in_s * s for s in ws], zero_point=[0] * len(ws))


def conv_model(kind="CONV_2D", shape=(1, 6, 7, 3), oc=4, k=(3, 3), stride=(1, 1), padding="SAME",
               dilation=(1, 1), dm=1, act="NONE", bias="int64", per_channel=True, real=1.0, bias_mag=1 << 20,
               seed=0):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    in_s = 0.004
    ic = shape[3]
    if kind == "DEPTHWISE_CONV_2D":
        oc = ic * dm
        wd = rng.integers(-127, 128, (1, k[0], k[1], oc), dtype=np.int8)
        qdim, taps = 3, k[0] * k[1]
    else:
        wd = rng.integers(-127, 128, (oc, k[0], k[1], ic), dtype=np.int8)
        qdim, taps = 0, k[0] * k[1] * ic
    ws = _scales(rng, oc, per_channel)
    x = b.tensor("x", shape, "int16", scale=in_s, zero_point=0)
    w = b.const("w", wd, scale=ws, zero_point=[0] * len(ws), quantized_dimension=qdim)
    bt = _bias(b, rng, oc, ws if per_channel else ws * oc, in_s, bias and np.dtype(bias), bias_mag)

    def out_size(n, kk, s, d):
        eff = (kk - 1) * d + 1
        return -(-n // s) if padding == "SAME" else (n - eff + s) // s
    oh, ow = out_size(shape[1], k[0], stride[0], dilation[0]), out_size(shape[2], k[1], stride[1], dilation[1])
    y = b.tensor("y", (shape[0], oh, ow, oc), "int16", scale=_out_scale(in_s, ws, taps, real), zero_point=0)
    fields = dict(Padding=padding, StrideH=stride[0], StrideW=stride[1], DilationHFactor=dilation[0],
                  DilationWFactor=dilation[1], FusedActivationFunction=act)
    if kind == "DEPTHWISE_CONV_2D":
        fields["DepthMultiplier"] = dm
    # no bias: two inputs (TFLite Micro's depthwise prepare crashes on an absent third input, -1)
    b.op(kind, [x, w, bt] if bt >= 0 else [x, w], [y], KINDS[kind], **fields)
    return b.build([x], [y])


def fc_model(batch=1, k=24, n=10, act="NONE", bias="int64", per_channel=False, real=1.0, bias_mag=1 << 20,
             keep_num_dims=False, seed=0, in_shape=None):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    in_s = 0.003
    wd = rng.integers(-127, 128, (n, k), dtype=np.int8)
    ws = _scales(rng, n, per_channel)
    x = b.tensor("x", in_shape or (batch, k), "int16", scale=in_s, zero_point=0)
    w = b.const("w", wd, scale=ws, zero_point=[0] * len(ws))
    bt = _bias(b, rng, n, ws if per_channel else ws * n, in_s, bias and np.dtype(bias), bias_mag)
    out_shape = tuple(in_shape[:-1]) + (n,) if keep_num_dims else (batch, n)
    y = b.tensor("y", out_shape, "int16", scale=_out_scale(in_s, ws, k, real), zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bt], [y], "FullyConnectedOptions", FusedActivationFunction=act,
         KeepNumDims=keep_num_dims)
    return b.build([x], [y])


def no_bias_int32_model(kind, seed=0):
    """No bias, options' quantized_bias_type INT32: TFLite Micro then takes the int32 path."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    if kind == "CONV_2D":
        x = b.tensor("x", (1, 5, 5, 3), "int16", scale=0.004)
        y = b.tensor("y", (1, 5, 5, 8), "int16", scale=0.05)
        w = b.const("w", rng.integers(-127, 128, (8, 3, 3, 3)).astype(np.int8), scale=list(rng.uniform(.002, .02, 8)),
                    zero_point=[0] * 8)
        b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", Padding="SAME", StrideW=1, StrideH=1, QuantizedBiasType=2)
    else:
        x = b.tensor("x", (2, 40), "int16", scale=0.003)
        y = b.tensor("y", (2, 64), "int16", scale=0.05)
        w = b.const("w", rng.integers(-127, 128, (64, 40)).astype(np.int8), scale=[0.01])
        b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions", QuantizedBiasType=2)
    return b.build([x], [y])


@pytest.mark.parametrize("kind", ["CONV_2D", "FULLY_CONNECTED"])
def test_no_bias_with_int32_bias_type(kind):
    data = no_bias_int32_model(kind)
    exact(data)
    g = pack(data, kernels="ref", check_budget=False).graph
    assert g.tensors[g.ops[0].kernel_inputs[2]].dtype == "int32"  # the zero bias takes the int32 path


def small_inputs(data, mag, trials=3, seed=1):
    """Inputs in [-mag, mag] (so large multipliers do not saturate every output)."""
    rng = np.random.default_rng(seed)
    it = Interpreter(pack(data, kernels="ref", check_budget=False).binary)
    return [tuple(rng.integers(-mag, mag + 1, d["shape"]).astype(np.int16) for d in it.input_details())
            for _ in range(trials)]


def exact(data, trials=3, inputs=None):
    rep = check_bit_exact(data, trials=trials, kernel_sets=("np", "ref"), inputs=inputs)
    assert rep["op_kernel_sets"] == {"np": ["np"] * rep["ops"], "ref": ["ref"] * rep["ops"]}
    return rep


CONV_CASES = [
    dict(),
    dict(padding="VALID"),
    dict(stride=(2, 2)),
    dict(stride=(2, 1), padding="VALID", k=(2, 3)),
    dict(dilation=(2, 2)),
    dict(dilation=(1, 2), stride=(1, 2), k=(1, 3)),
    dict(k=(1, 1), oc=6),
    dict(act="RELU"),
    dict(act="RELU6", real=1e3),        # six on a tiny output scale: the clamp bites
    dict(act="RELU_N1_TO_1", real=300.0),
    dict(per_channel=False),
    dict(real=40.0),                    # large multipliers (mostly saturating)
    dict(real=1e-4),                    # tiny multipliers (shift far right)
    dict(bias=None),
    dict(bias="int32"),
    dict(bias="int32", per_channel=False, act="RELU"),
    dict(bias="int64", bias_mag=1 << 40, real=1e-5),   # biases far beyond int32
    dict(bias="int64", bias_mag=1 << 45, oc=12),       # results beyond int32, truncated before the clamp
    dict(shape=(2, 5, 4, 2), oc=3),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "base")
def test_conv_2d_int16(case):
    exact(conv_model(**case, seed=len(str(case))))


DW_CASES = [
    dict(),
    dict(padding="VALID", stride=(2, 2)),
    dict(dm=2, shape=(1, 5, 6, 2)),
    dict(dm=3, shape=(1, 4, 4, 1), k=(2, 2)),
    dict(dilation=(2, 1)),
    dict(act="RELU6", real=1e3),
    dict(act="RELU"),
    dict(per_channel=False, real=1e-4),
    dict(bias=None, real=30.0),
    dict(bias_mag=1 << 44, real=1e-6),
    dict(shape=(2, 4, 5, 3), k=(3, 2), stride=(1, 2)),
]


@pytest.mark.parametrize("case", DW_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "base")
def test_depthwise_conv_2d_int16(case):
    exact(conv_model("DEPTHWISE_CONV_2D", **case, seed=len(str(case))))


FC_CASES = [
    dict(),
    dict(per_channel=True),
    dict(batch=3),
    dict(batch=2, per_channel=True, act="RELU"),
    dict(act="RELU6", real=1e3),
    dict(bias=None),
    dict(bias="int32"),
    dict(bias="int32", per_channel=True, batch=2),
    dict(bias="int32", bias_mag=-((1 << 31) - 1), k=64, real=1e-3),   # the int32 sum wraps, as the reference's
    dict(bias_mag=1 << 42, real=1e-6),
    dict(bias_mag=1 << 46, n=40),   # the int64 result beyond int32: truncated (wraps) before the clamp
    dict(real=1e-4, n=1),
    dict(real=50.0, k=1, n=1, batch=1),
    dict(keep_num_dims=True, in_shape=(2, 3, 24)),
    dict(in_shape=(1, 2, 3, 4), k=24),
]


@pytest.mark.parametrize("case", FC_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "base")
def test_fully_connected_int16(case):
    exact(fc_model(**case, seed=len(str(case))))


@pytest.mark.parametrize("dtype", ["int16", "int8"])
def test_per_tensor_fc_multiplier_in_double(dtype):
    """Scales whose float32 product gives another multiplier than the double product, and an
    accumulator (-35463, through the bias) where the two round apart: the reference (the
    wheel) takes the double product, as edge_rt does, for int16x8 and int8 alike."""
    in_s, ws, out_s = 0.05024484544992447, 0.026936296373605728, 0.3950349986553192
    b = ModelBuilder()
    x = b.tensor("x", (1, 2), dtype, scale=in_s, zero_point=0)
    w = b.const("w", np.array([[1, 0]], np.int8), scale=[ws])
    bias = b.const("b", np.array([-35463], np.int32), scale=[in_s * ws])
    y = b.tensor("y", (1, 1), dtype, scale=out_s, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions")
    exact(b.build([x], [y]), inputs=[(np.array([[0, 0]], dtype),), (np.array([[1, 5]], dtype),)])


def test_large_multipliers_small_inputs():
    """Multipliers above 1 (left shifts) on inputs small enough not to saturate every output."""
    for data in (conv_model(real=2e3, seed=3), conv_model(real=2e3, bias="int32", seed=4),
                 fc_model(real=5e3, per_channel=True, seed=5), fc_model(real=5e3, bias="int32", seed=6),
                 conv_model("DEPTHWISE_CONV_2D", real=3e3, seed=7)):
        exact(data, inputs=small_inputs(data, 40))


def test_rounding_differs_from_int8_path():
    """The int64 requantization is not the int32 one: an int64-bias model and the same model
    with an int32 bias give different outputs on some values (so the sweep above tells them
    apart), and each matches the reference. The share of differing results (docs/int16.md):
        r = random.Random(0); n = d = 0
        for _ in range(200000):
            m, s = quantize_multiplier(10 ** r.uniform(-6, -2)); x = r.randint(-2**31 + 1, 2**31 - 1)
            a = mbqm(x, m, s); n += -32768 <= a <= 32767; d += -32768 <= a <= 32767 and a != mbqm64(x, m, s)
    gives d / n = 0.093."""
    outs = {}
    for bias in ("int64", "int32"):
        data = fc_model(k=32, n=64, bias=bias, bias_mag=1000, seed=11)
        exact(data, trials=2)
        it = Interpreter(pack(data, kernels="ref", check_budget=False).binary)
        it.set_input(0, np.random.default_rng(2).integers(-32768, 32768, (1, 32)).astype(np.int16))
        it.invoke()
        outs[bias] = it.get_output(0).astype(np.int64)
    assert np.abs(outs["int64"] - outs["int32"]).max() >= 1


@pytest.mark.parametrize("ks", ["c", "viper"])
def test_int8_only_sets_fall_back(ks):
    """Packed for c or viper, each int16 op runs on np (c's chain) or ref (viper's), recorded
    in META op_kernels, and stays exact."""
    want = {"c": "np", "viper": "ref"}[ks]
    for data in (conv_model(seed=1), conv_model("DEPTHWISE_CONV_2D", seed=2), fc_model(batch=2, seed=3)):
        res = pack(data, kernels=ks, check_budget=False)
        it = Interpreter(res.binary)
        assert it.op_kernel_sets == [want]
        assert it.model.meta["op_kernels"] == [want]
        rep = check_bit_exact(data, trials=2, kernel_sets=(ks,) if (ks != "c" or c_available()) else ("np",))
        assert set(rep["op_kernel_sets"][rep["kernel_sets"][0]]) == {want}


def three_op_model(seed=0):
    """conv (int64 bias) -> depthwise -> FC (int32 bias), all int16x8."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    s0, s1, s2, s3 = 0.004, 0.05, 0.4, 2.0
    x = b.tensor("x", (1, 6, 6, 2), "int16", scale=s0)
    w1 = rng.integers(-127, 128, (4, 3, 3, 2), dtype=np.int8)
    ws1 = list(rng.uniform(0.002, 0.01, 4))
    c1 = b.tensor("c1", (1, 6, 6, 4), "int16", scale=s1)
    b.op("CONV_2D", [x, b.const("w1", w1, scale=ws1, zero_point=[0] * 4),
                     b.const("b1", rng.integers(-5000, 5000, 4).astype(np.int64), scale=[s0 * s for s in ws1])],
         [c1], "Conv2DOptions", Padding="SAME", StrideW=1, StrideH=1, FusedActivationFunction="RELU")
    w2 = rng.integers(-127, 128, (1, 3, 3, 4), dtype=np.int8)
    ws2 = list(rng.uniform(0.002, 0.01, 4))
    c2 = b.tensor("c2", (1, 3, 3, 4), "int16", scale=s2)
    b.op("DEPTHWISE_CONV_2D", [c1, b.const("w2", w2, scale=ws2, zero_point=[0] * 4, quantized_dimension=3),
                               b.const("b2", rng.integers(-5000, 5000, 4).astype(np.int64),
                                       scale=[s1 * s for s in ws2])],
         [c2], "DepthwiseConv2DOptions", Padding="SAME", StrideW=2, StrideH=2, DepthMultiplier=1,
         FusedActivationFunction="RELU6")
    w3 = rng.integers(-127, 128, (5, 36), dtype=np.int8)
    y = b.tensor("y", (1, 5), "int16", scale=s3)
    b.op("FULLY_CONNECTED", [c2, b.const("w3", w3, scale=[0.01]),
                             b.const("b3", rng.integers(-5000, 5000, 5).astype(np.int32), scale=[s2 * 0.01])],
         [y], "FullyConnectedOptions", FusedActivationFunction="NONE")
    return b.build([x], [y])


def test_three_op_model():
    data = three_op_model()
    rep = exact(data, trials=3)
    assert rep["ops"] == 3
    # the depthwise -> conv pair is no depthwise-separable candidate here; no int8-only fused op appears
    types = [op.type for op in pack(data, kernels="np", check_budget=False).graph.ops]
    assert types == ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"]


PEAK_LIMIT = 4096  # transient Python objects only (as tests/test_zero_alloc.py); every band
                   # buffer of these models is larger, so a temporary copy of one would show


@pytest.mark.parametrize("data", [three_op_model(1), conv_model(oc=16, seed=5), conv_model(bias="int32", oc=16, seed=6),
                                  conv_model("DEPTHWISE_CONV_2D", shape=(1, 6, 7, 16), seed=8),
                                  fc_model(batch=2, n=300), fc_model(batch=1, n=1),
                                  conv_model(shape=(1, 3, 3, 2), oc=1, padding="VALID", bias="int32"),
                                  conv_model("DEPTHWISE_CONV_2D", shape=(1, 3, 3, 1), padding="VALID")],
                         ids=["three_ops", "conv", "conv_int32_bias", "depthwise", "fc", "fc_one_output",
                              "conv_one_output", "depthwise_one_output"])
def test_np_invoke_allocates_nothing(data):
    it = Interpreter(pack(data, kernels="np", check_budget=False).binary, kernels="np")
    assert set(it.op_kernel_sets) == {"np"}
    it.set_input(0, np.ones(it.input_details()[0]["shape"], np.int16))
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < PEAK_LIMIT, (growth, peak)


def test_rejections_name_the_problem():
    """Outside the scheme: one line naming the op and the problem."""
    rng = np.random.default_rng(0)
    cases = []
    b = ModelBuilder()  # an int16 input with a nonzero zero point
    x = b.tensor("x", (1, 8), "int16", scale=0.01, zero_point=3)
    y = b.tensor("y", (1, 2), "int16", scale=0.5)
    b.op("FULLY_CONNECTED", [x, b.const("w", rng.integers(-9, 9, (2, 8)).astype(np.int8), scale=[0.01]), -1], [y],
         "FullyConnectedOptions")
    cases.append((b.build([x], [y]), "zero point 3"))
    b = ModelBuilder()  # an int32 bias on the int16 depthwise (TFLite Micro reads it as int64)
    x = b.tensor("x", (1, 4, 4, 2), "int16", scale=0.01)
    y = b.tensor("y", (1, 4, 4, 2), "int16", scale=0.5)
    b.op("DEPTHWISE_CONV_2D", [x, b.const("w", rng.integers(-9, 9, (1, 3, 3, 2)).astype(np.int8), scale=[0.01],
                                          quantized_dimension=3),
                               b.const("b", np.zeros(2, np.int32), scale=[1e-4])], [y], "DepthwiseConv2DOptions",
         Padding="SAME", StrideW=1, StrideH=1, DepthMultiplier=1)
    cases.append((b.build([x], [y]), "bias tensor"))
    b = ModelBuilder()  # a bias so large that TFLite's int64 requantization would overflow int64
    x = b.tensor("x", (1, 8), "int16", scale=0.01)
    y = b.tensor("y", (1, 2), "int16", scale=0.5)
    b.op("FULLY_CONNECTED", [x, b.const("w", rng.integers(-9, 9, (2, 8)).astype(np.int8), scale=[0.01]),
                             b.const("b", np.array([1 << 61, 0], np.int64), scale=[1e-4])], [y],
         "FullyConnectedOptions")
    cases.append((b.build([x], [y]), "overflow int64"))
    for data, words in cases:
        with pytest.raises(UnsupportedModelError) as e:
            pack(data, kernels="np", check_budget=False)
        msg = str(e.value)
        assert words in msg and "op 0" in msg, msg


def _mixed_model():
    """int8 input -> QUANTIZE (int8 -> int16) -> int16 FC -> QUANTIZE (int16 -> int8)."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor("x", (1, 16), "int8", scale=0.05, zero_point=-3)
    x16 = b.tensor("x16", (1, 16), "int16", scale=0.0002)
    b.op("QUANTIZE", [x], [x16])
    y16 = b.tensor("y16", (1, 4), "int16", scale=0.002)
    b.op("FULLY_CONNECTED", [x16, b.const("w", rng.integers(-127, 128, (4, 16)).astype(np.int8), scale=[0.01]),
                             b.const("b", rng.integers(-999, 999, 4).astype(np.int64), scale=[2e-6])],
         [y16], "FullyConnectedOptions")
    y = b.tensor("y", (1, 4), "int8", scale=0.1, zero_point=2)
    b.op("QUANTIZE", [y16], [y])
    return b.build([x], [y])


def test_mixed_int8_int16_model():
    """Through QUANTIZE: exact where int16 QUANTIZE exists, else a clean refusal naming it."""
    from edge_rt.kernels import ref
    data = _mixed_model()
    if F.OP_QUANTIZE in ref.INT16_OPS:  # the QUANTIZE ops may run on ref in the np file: any set goes
        check_bit_exact(data, trials=3, kernel_sets=("np", "ref"))
        return
    with pytest.raises(UnsupportedModelError) as e:
        pack(data, kernels="np", check_budget=False)
    msg = str(e.value)
    assert "(QUANTIZE)" in msg and "(FULLY_CONNECTED)" not in msg, msg


def _dw_pw_model(seed=0):
    """DEPTHWISE_CONV_2D -> 1x1 CONV_2D, int16x8: a depthwise-separable pair (DS_CONV_2D is int8 only)."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", (1, 5, 5, 3), "int16", scale=0.004)
    m = b.tensor("m", (1, 5, 5, 3), "int16", scale=0.05)
    ws = list(rng.uniform(0.002, 0.01, 3))
    b.op("DEPTHWISE_CONV_2D", [x, b.const("wd", rng.integers(-127, 128, (1, 3, 3, 3)).astype(np.int8), scale=ws,
                                          zero_point=[0] * 3, quantized_dimension=3),
                               b.const("bd", rng.integers(-999, 999, 3).astype(np.int64), scale=[4e-5] * 3)],
         [m], "DepthwiseConv2DOptions", Padding="SAME", StrideW=1, StrideH=1, DepthMultiplier=1)
    y = b.tensor("y", (1, 5, 5, 4), "int16", scale=0.3)
    b.op("CONV_2D", [m, b.const("wp", rng.integers(-127, 128, (4, 1, 1, 3)).astype(np.int8), scale=[0.01]),
                     b.const("bp", rng.integers(-999, 999, 4).astype(np.int64), scale=[5e-4])],
         [y], "Conv2DOptions", Padding="VALID", StrideW=1, StrideH=1)
    return b.build([x], [y])


def test_int16_pair_is_not_fused_into_int8_ops():
    data = _dw_pw_model()
    exact(data)
    for ks in ("np", "ref"):
        assert [op.type for op in pack(data, kernels=ks, check_budget=False).graph.ops] == ["DEPTHWISE_CONV_2D",
                                                                                           "CONV_2D"]


def _model_with(tail):
    """An int16 CONV_2D followed by `tail` ("ADD" of a skip, or "RELU"/"RELU6")."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 2), "int16", scale=0.01)
    c = b.tensor("c", (1, 4, 4, 2), "int16", scale=0.02)
    b.op("CONV_2D", [x, b.const("w", rng.integers(-9, 9, (2, 1, 1, 2)).astype(np.int8), scale=[0.01]), -1], [c],
         "Conv2DOptions", Padding="SAME", StrideW=1, StrideH=1)
    y = b.tensor("y", (1, 4, 4, 2), "int16", scale=0.02)
    if tail == "ADD":
        b.op("ADD", [c, x], [y], "AddOptions")
    else:
        b.op(tail, [c], [y])
    return b.build([x], [y])


def _graph_with(tail):
    """_model_with(tail) imported, before any pass."""
    from edge_rt.compiler.importers.tflite import import_tflite
    g, problems = import_tflite(_model_with(tail), "t.tflite")
    assert not problems
    return g


def test_passes_leave_int16_ops_alone():
    """fuse_residual (CONV_2D_ADD is int8 only) skips int16x8 producers."""
    from edge_rt.compiler.passes.fuse import fuse_residual
    g, note = fuse_residual(_graph_with("ADD"))
    assert [op.type for op in g.ops] == ["CONV_2D", "ADD"] and not note


@pytest.mark.parametrize("act", ["RELU", "RELU6"])
def test_standalone_activation_folds_into_int16_conv_exactly(act):
    """With equal quantization a standalone RELU/RELU6 after an int16x8 conv is the conv's fused
    clamp on the same int16 grid: folded, and still exact against TFLite Micro's two ops."""
    from edge_rt.compiler.passes.fold_activation import fold_activation
    g, note = fold_activation(_graph_with(act))
    assert [(op.type, op.options.get("activation")) for op in g.ops] == [("CONV_2D", act)] and note
    exact(_model_with(act))


def test_ref_int16_on_micropython(tmp_path):
    """The ref int16 paths on real MicroPython (WebAssembly port; int64 bias views through
    uctypes), bit-exact vs TFLite Micro. Not under heap_lock: the int16 accumulators and
    requantization are big ints on 32-bit ports (kernels/quant.requant_int16x8)."""
    from edge_rt.testing import micropython as MP
    if MP.unavailable():
        pytest.skip(MP.unavailable())
    from test_micropython import OP_SESSION
    from edge_rt.testing.reference import TFLM
    models = [conv_model(stride=(2, 1), act="RELU", seed=1), conv_model(bias="int32", seed=2),
              conv_model("DEPTHWISE_CONV_2D", dm=2, shape=(1, 4, 5, 2), bias_mag=1 << 40, real=1e-5, seed=3),
              fc_model(batch=2, per_channel=True, seed=4), fc_model(bias="int32", bias_mag=-((1 << 31) - 1), seed=5)]
    files, steps, want = MP.device_files(str(tmp_path)), [OP_SESSION], {}
    rng = np.random.default_rng(9)
    for k, data in enumerate(models):
        ert = pack(data, f"m{k}.tflite", kernels="ref", check_budget=False).binary
        it = Interpreter(ert)
        xs = [rng.integers(-32768, 32768, d["shape"]).astype(np.int16) for d in it.input_details()]
        want[k] = TFLM(data)(*xs)[0].tobytes()
        (tmp_path / f"in_{k}_0_0.bin").write_bytes(xs[0].tobytes())
        (tmp_path / f"m{k}.ert").write_bytes(ert)
        files += [(f"/in_{k}_0_0.bin", str(tmp_path / f"in_{k}_0_0.bin")), (f"/m{k}.ert", str(tmp_path / f"m{k}.ert"))]
        steps.append(f"_op({k}, 1, 1, 1, False)\n")
    res = MP.run_steps(steps, files, timeout=240)
    assert res["ok"], res["error"]
    got = {int(p[1]): bytes.fromhex(p[4]) for p in (line.split() for line in res["stdout"].splitlines())
           if p and p[0] == "@@out"}
    assert "@@exc" not in res["stdout"], res["stdout"][-2000:]
    assert got == want, sorted(got)


@pytest.mark.parametrize("kind", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_pad_folds_into_int16_convolution(kind):
    """PAD (int16, zero point 0) -> VALID convolution: fold_pad makes it one convolution with
    explicit padding, still exact (the padded taps are 0 either way)."""
    rng = np.random.default_rng(4)
    b = ModelBuilder()
    x = b.tensor("x", (1, 5, 6, 3), "int16", scale=0.004)
    p = b.tensor("p", (1, 8, 8, 3), "int16", scale=0.004)
    b.op("PAD", [x, b.const("pads", np.array([[0, 0], [1, 2], [0, 2], [0, 0]], np.int32))], [p])
    ws = list(rng.uniform(0.002, 0.01, 3))
    if kind == "CONV_2D":
        w = b.const("w", rng.integers(-127, 128, (3, 3, 3, 3)).astype(np.int8), scale=ws, zero_point=[0] * 3)
        opts = dict(Padding="VALID", StrideW=2, StrideH=1)
    else:
        w = b.const("w", rng.integers(-127, 128, (1, 3, 3, 3)).astype(np.int8), scale=ws, zero_point=[0] * 3,
                    quantized_dimension=3)
        opts = dict(Padding="VALID", StrideW=2, StrideH=1, DepthMultiplier=1)
    y = b.tensor("y", (1, 6, 3, 3), "int16", scale=0.2)
    b.op(kind, [p, w, b.const("b", rng.integers(-999, 999, 3).astype(np.int64), scale=[4e-5] * 3)], [y],
         KINDS[kind], **opts)
    data = b.build([x], [y])
    exact(data)
    assert [op.type for op in pack(data, kernels="np", check_budget=False).graph.ops] == [kind]


@pytest.mark.parametrize("wide", [True, False], ids=["int64_bias", "int32_bias"])
def test_vectorized_requantization_matches_scalar(wide):
    """_wide.Requant16 against the scalar specification (quant.requant_int16x8 and the clamp) on
    random sums, sums near rounding ties and sums beyond int32, per-channel multipliers with left
    and right shifts; and every ufunc step writes a buffer none of its operands share (numpy
    serves an overlapping one-element ufunc through a temporary copy)."""
    from edge_rt.compiler.quant import quantize_multiplier
    from edge_rt.kernels.np._wide import Requant16
    from edge_rt.kernels.quant import requant_int16x8
    rng = np.random.default_rng(7 + wide)
    n, rows = 6, 50
    reals = [3e-7, 1e-4, 0.37, 1.0, 2.5, 90.0]
    ms = [quantize_multiplier(r) for r in reals]
    mult, shift = np.array([m for m, _ in ms], np.int64), np.array([s for _, s in ms], np.int64)
    bias = rng.integers(-(1 << 40) if wide else -(1 << 31), 1 << 40 if wide else 1 << 31, n)
    lo, hi = -30000, 32000
    acc = rng.integers(-(1 << 40), 1 << 40, (rows, n)).astype(np.float64)
    for c, r in enumerate(reals):  # sums whose scaled value lies at or next to k + 1/2
        ties = np.round((np.arange(rows // 2) - 7 + 0.5) / r) - bias[c]
        acc[: rows // 2, c] = ties + rng.integers(-1, 2, rows // 2)
    a, b, cb = (np.zeros((rows, n), np.int64) for _ in range(3))
    y = np.zeros((rows, n), np.int16)
    rq = Requant16(bias, mult, shift, wide, lo, hi, n, rows)
    steps = rq.steps(acc.copy(), a, b, cb, y)
    for fn, args in steps:
        if isinstance(fn, np.ufunc):
            assert not any(np.shares_memory(args[-1], o) for o in args[:-1] if isinstance(o, np.ndarray)), fn
        fn(*args)
    want = [[max(lo, min(hi, requant_int16x8(int(acc[i, c]) + int(bias[c]), int(mult[c]), int(shift[c]), wide)))
             for c in range(n)] for i in range(rows)]
    assert (y == np.array(want)).all()
