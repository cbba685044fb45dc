"""Element-wise int8 ops (ADD, SUB, MUL, RELU, RELU6, LEAKY_RELU, QUANTIZE, DEQUANTIZE):
single-op models across the parameter space, each bit-exact (0 LSB) against TFLite Micro on
both kernel sets; unsupported configurations are rejected at pack time naming the op."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.compiler.prepare.add import add_sub_reals
from edge_rt.compiler.quant import quantize_multiplier
from edge_rt.errors import UnsupportedModelError
from edge_rt.kernels import broadcast
from edge_rt.testing.c_set import C_SETS
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref") + C_SETS  # c: every op on the C kernels (all_c)
OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}
ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def binary_model(op, sa, sb, so, qa, qb, qo, act="NONE", dtype="int8", const_b=None):
    b = ModelBuilder()
    x1 = b.tensor("a", sa, dtype, *qa)
    if const_b is None:
        x2 = b.tensor("b", sb, dtype, *qb)
    else:
        x2 = b.const("b", const_b, *qb)
    y = b.tensor("y", so, dtype, *qo)
    b.op(op, [x1, x2], [y], OPTIONS[op], FusedActivationFunction=act)
    return b.build([x1] if const_b is not None else [x1, x2], [y])


def unary_model(op, shape, qi, qo, tin="int8", tout="int8", options=None, **fields):
    b = ModelBuilder()
    x = b.tensor("x", shape, tin, *qi)
    y = b.tensor("y", shape, tout, *qo)
    b.op(op, [x], [y], options, **fields)
    return b.build([x], [y])


def pack_problem(data):
    with pytest.raises(UnsupportedModelError) as e:
        pack(data, "bad.tflite", kernels="np")
    return str(e.value)


# -- ADD / SUB / MUL ---------------------------------------------------------------------

BROADCASTS = [
    ((3, 5, 7), (3, 5, 7), (3, 5, 7)),                # same shape, odd sizes
    ((1, 4, 5, 3), (1,), (1, 4, 5, 3)),               # scalar-like [1]
    ((1,), (2, 3, 5), (2, 3, 5)),                     # scalar-like on the left
    ((2, 4, 3, 5), (1, 1, 1, 5), (2, 4, 3, 5)),       # per-channel [1,1,1,C]
    ((2, 4, 3, 5), (3, 5), (2, 4, 3, 5)),             # 4-D vs 2-D
    ((2, 1, 3, 1), (1, 4, 1, 5), (2, 4, 3, 5)),       # both sides broadcast
    ((7, 1), (1, 9), (7, 9)),                         # outer product
    ((2, 1, 3, 1, 2), (1, 3, 1, 4, 1), (2, 3, 3, 4, 2)),           # 5-D
    ((1, 2, 1, 3, 1, 2), (2, 1, 3, 1, 4, 1), (2, 2, 3, 3, 4, 2)),  # 6-D
    ((1, 1), (1,), (1, 1)),                           # a single element
    ((), (3, 4), (3, 4)),                             # a 0-d scalar
]


def test_broadcast_plan_merges_axes():
    assert broadcast.plan((2, 3, 4), (2, 3, 4), (2, 3, 4)) == ([24], [1], [1])
    assert broadcast.plan((1, 8, 8, 3), (3,), (1, 8, 8, 3)) == ([64, 3], [3, 1], [0, 1])
    assert broadcast.plan((7, 1), (1, 9), (7, 9)) == ([7, 9], [1, 0], [0, 1])
    with pytest.raises(ValueError):
        broadcast.plan((2, 3), (4, 3), (4, 3))


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("shapes", BROADCASTS, ids=lambda s: "x".join(map(str, s[0])) + "_" +
                         "x".join(map(str, s[1])) + "_")
def test_binary_broadcasting(op, shapes):
    qo = (0.03, -9) if op == "MUL" else (0.11, 4)
    check_bit_exact(binary_model(op, *shapes, (0.05, 3), (0.07, -20), qo), trials=3, kernel_sets=KS, all_c=True)


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
@pytest.mark.parametrize("quant", [
    ((0.05, 0), (0.05, 0), (0.05, 0)),            # equal scales, zero offsets
    ((0.02, -128), (0.3, 127), (0.04, 127)),      # different scales, extreme zero points
    ((0.5, 127), (0.01, -128), (0.2, -128)),
], ids=["equal", "extreme1", "extreme2"])
def test_binary_activation_and_quantization(op, act, quant):
    check_bit_exact(binary_model(op, (2, 3, 4, 5), (1, 1, 4, 5), (2, 3, 4, 5), *quant, act=act),
                    trials=3, kernel_sets=KS, all_c=True)


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("quant", [
    ((0.05, 3), (0.07, -100), (0.1, 10)),          # SUB: float32 and double Prepare differ here
    ((0.0039215689, -128), (0.0039215689, -128), (0.0078431377, -128)),
    ((0.25, 17), (0.0625, -3), (0.0009765625, 0)),  # power-of-two scales: exact halfway cases
], ids=["sub_pin", "uint8_like", "pow2"])
def test_binary_all_int8_pairs(op, quant):
    """Every (x1, x2) int8 pair at once, via a [256,1] x [1,256] broadcast."""
    qo = quant[2] if op != "MUL" else (quant[0][0] * quant[1][0] * 1.7, quant[2][1])
    data = binary_model(op, (256, 1), (1, 256), (256, 256), quant[0], quant[1], qo)
    check_bit_exact(data, inputs=[(ALL_INT8.reshape(256, 1), ALL_INT8.reshape(1, 256))], kernel_sets=KS, all_c=True)


def test_sub_pin_case_discriminates_float32_prepare():
    # The sub_pin case above is meaningful only if the float32 steps of the mirrored source
    # would give different multipliers than the double steps we use (and the wheel matches).
    s1, s2, so = 0.05, 0.07, 0.1
    f1, f2, fo = np.float32(s1), np.float32(s2), np.float32(so)
    twice = np.float32(2) * max(f1, f2)
    float32_reals = (float(f1 / twice), float(f2 / twice), float(twice / (np.float32(1 << 20) * fo)))
    ours = [quantize_multiplier(r) for r in add_sub_reals(s1, s2, so)]
    assert ours != [quantize_multiplier(r) for r in float32_reals]


def test_binary_same_tensor_and_constant_operand():
    b = ModelBuilder()
    x = b.tensor("x", (3, 7), "int8", 0.05, -4)
    y = b.tensor("y", (3, 7), "int8", 0.09, 6)
    b.op("ADD", [x, x], [y], "AddOptions", FusedActivationFunction="NONE")
    check_bit_exact(b.build([x], [y]), trials=3, kernel_sets=KS, all_c=True)
    bias = np.random.default_rng(5).integers(-128, 128, (1, 1, 1, 6), dtype=np.int8)
    for op in ("ADD", "SUB", "MUL"):
        qo = (0.004, 2) if op == "MUL" else (0.06, 2)
        data = binary_model(op, (1, 3, 4, 6), None, (1, 3, 4, 6), (0.05, 1), (0.02, -7), qo,
                            act="RELU", const_b=bias)
        check_bit_exact(data, trials=3, kernel_sets=KS, all_c=True)


# -- RELU / RELU6 / LEAKY_RELU ------------------------------------------------------------

UNARY_QUANT = [
    ((0.05, 3), (0.05, 3)),          # equal
    ((0.05, 3), (0.02, -128)),       # finer output grid
    ((0.1, -128), (0.3, 127)),       # coarser, extreme zero points
    ((0.01, 127), (0.5, 0)),
    ((0.06875734776258469, 5), (0.008089100010693073, -7)),  # float32 vs double Prepare differ
]


@pytest.mark.parametrize("op", ["RELU", "RELU6"])
@pytest.mark.parametrize("quant", UNARY_QUANT)
def test_relu_relu6(op, quant):
    check_bit_exact(unary_model(op, (4, 64), *quant), inputs=[(ALL_INT8.reshape(4, 64),)],
                    kernel_sets=KS, all_c=True)


@pytest.mark.parametrize("alpha", [0.1, 0.0, 0.5, 1.7, 5.0, -0.3])
@pytest.mark.parametrize("quant", UNARY_QUANT[:4] + [((0.5995466113090515, 5), (0.5891801118850708, -7))])
def test_leaky_relu(alpha, quant):
    data = unary_model("LEAKY_RELU", (4, 64), *quant, options="LeakyReluOptions", Alpha=alpha)
    check_bit_exact(data, inputs=[(ALL_INT8.reshape(4, 64),)], kernel_sets=KS, all_c=True)


def test_leaky_relu_pinned_double_prepare():
    data = unary_model("LEAKY_RELU", (4, 64), (0.5995466113090515, 5), (0.5891801118850708, -7),
                       options="LeakyReluOptions", Alpha=-0.4957418143749237)
    check_bit_exact(data, inputs=[(ALL_INT8.reshape(4, 64),)], kernel_sets=KS, all_c=True)


def test_odd_shapes_unary():
    for op, extra in (("RELU", {}), ("RELU6", {}),
                      ("LEAKY_RELU", {"options": "LeakyReluOptions", "Alpha": 0.2})):
        check_bit_exact(unary_model(op, (1, 5, 7, 3), (0.07, -1), (0.05, 9), **extra), trials=3,
                        kernel_sets=KS, all_c=True)


# -- QUANTIZE / DEQUANTIZE ------------------------------------------------------------------

def _float_probe(scale):
    """Halfway points, signed zeros, large, infinite and NaN values around the grid."""
    k = np.arange(-140, 140, dtype=np.float32)
    special = np.array([np.inf, -np.inf, np.nan, 1e10, -1e10, 3e38, -3e38, 0.0, -0.0,
                        21474836.0, -21474836.0, 2e7, -2e7, 1e-30, -1e-30], np.float32)
    halves = (k + np.float32(0.5)) * np.float32(scale)
    near = np.nextafter(halves, np.float32(np.inf))
    return np.concatenate([special, halves, near, k * np.float32(scale)]).astype(np.float32)


@pytest.mark.parametrize("scale", [0.0078125, 0.01, 0.1, 1 / 3, 3.7])
@pytest.mark.parametrize("zp", [-128, -5, 0, 7, 127])
def test_quantize_float_to_int8(scale, zp):
    x = _float_probe(scale)
    data = unary_model("QUANTIZE", (x.size,), (), (scale, zp), tin="float32")
    check_bit_exact(data, inputs=[(x,)], kernel_sets=KS, all_c=True)
    check_bit_exact(data, trials=2, kernel_sets=KS, all_c=True)


@pytest.mark.parametrize("quant", UNARY_QUANT[:4] + [((0.5, 0), (0.001, 0)), ((0.001, 10), (0.7, -3))])
def test_quantize_int8_requantize(quant):
    check_bit_exact(unary_model("QUANTIZE", (4, 64), *quant), inputs=[(ALL_INT8.reshape(4, 64),)],
                    kernel_sets=KS, all_c=True)


@pytest.mark.parametrize("quant", [(0.05, 3), (0.1, -128), (0.0078125, 127), (1 / 3, 0), (123.4, -1)])
def test_dequantize(quant):
    data = unary_model("DEQUANTIZE", (4, 64), quant, (), tout="float32")
    check_bit_exact(data, inputs=[(ALL_INT8.reshape(4, 64),)], kernel_sets=KS, all_c=True)


def test_float_graph_quantize_add_dequantize():
    b = ModelBuilder()
    xf = b.tensor("xf", (1, 3, 5, 4), "float32")
    x = b.tensor("x", (1, 3, 5, 4), "int8", 0.025, -3)
    c = b.const("c", np.arange(-8, 8, 4, dtype=np.int8).reshape(1, 1, 1, 4), 0.1, 2)
    y = b.tensor("y", (1, 3, 5, 4), "int8", 0.04, 5)
    yf = b.tensor("yf", (1, 3, 5, 4), "float32")
    b.op("QUANTIZE", [xf], [x])
    b.op("ADD", [x, c], [y], "AddOptions", FusedActivationFunction="RELU6")
    b.op("DEQUANTIZE", [y], [yf])
    check_bit_exact(b.build([xf], [yf]), trials=3, kernel_sets=KS, all_c=True)


# -- unsupported configurations --------------------------------------------------------------

def test_rejects_int16_add_with_a_zero_point():
    # int16 ADD runs (tests/test_ops_int16_elem.py) with the int16x8 scheme's zero point 0 only
    msg = pack_problem(binary_model("ADD", (2, 3), (2, 3), (2, 3), (0.1, 0), (0.1, 3), (0.1, 0),
                                    dtype="int16"))
    assert "ADD" in msg and "int16 zero point 3 must be 0" in msg


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_rejects_fused_tanh(op):
    msg = pack_problem(binary_model(op, (2, 3), (2, 3), (2, 3), (0.1, 0), (0.1, 0), (0.1, 0), act="TANH"))
    assert f"({op})" in msg and "TANH" in msg


def test_rejects_bad_broadcast_and_output_shape():
    msg = pack_problem(binary_model("MUL", (2, 3), (4, 3), (4, 3), (0.1, 0), (0.1, 0), (0.1, 0)))
    assert "(MUL)" in msg and "broadcast" in msg
    msg = pack_problem(binary_model("ADD", (2, 3), (1, 3), (3, 3), (0.1, 0), (0.1, 0), (0.1, 0)))
    assert "(ADD)" in msg and "output shape" in msg


def test_rejects_add_output_scale_too_small():
    # TFLM aborts when the output rescale factor reaches 1; we refuse at pack time instead
    msg = pack_problem(binary_model("ADD", (4,), (4,), (4,), (0.5, 0), (0.5, 0), (1e-7, 0)))
    assert "(ADD)" in msg and "(0, 1)" in msg


def test_rejects_unsupported_unary_types():
    msg = pack_problem(unary_model("LEAKY_RELU", (4,), (0.1, 0), (0.1, 0), tin="int16", tout="int16",
                                   options="LeakyReluOptions", Alpha=0.2))
    assert "(LEAKY_RELU)" in msg and "int16" in msg
    msg = pack_problem(unary_model("QUANTIZE", (4,), (), (0.1, 0), tin="float32", tout="int32"))
    assert "(QUANTIZE)" in msg and "int32" in msg
    msg = pack_problem(unary_model("DEQUANTIZE", (4,), (0.1, 0), (), tin="int32", tout="float32"))
    assert "(DEQUANTIZE)" in msg and "int32" in msg
