"""uint8 at the graph edges: QUANTIZE uint8 -> int8 (camera images in) and int8 -> uint8
(probabilities out), TFLite Micro's Requantize, as single-op sweeps (kernels) and inside a small
conv model with uint8 input and output (folded into set_input/get_output, and as kernels with
the fold off); bit-exact (0 LSB) against TFLite Micro on both kernel sets."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref")
ALL_U8 = np.arange(256, dtype=np.uint8).reshape(4, 64)
ALL_I8 = np.arange(-128, 128, dtype=np.int8).reshape(4, 64)


def quantize_model(tin, tout, qi, qo, shape=(4, 64)):
    b = ModelBuilder()
    x = b.tensor("x", shape, tin, *qi)
    y = b.tensor("y", shape, tout, *qo)
    b.op("QUANTIZE", [x], [y])
    return b.build([x], [y])


# (input quant, output quant): the usual exact +-128 shift, rescales up and down, zero points
# at the range ends, and a factor that saturates
U8_TO_I8 = [((0.00390625, 0), (0.00390625, -128)), ((1.0, 0), (1.0, -128)), ((0.0078125, 128), (0.0078125, 0)),
            ((0.02, 3), (0.05, -7)), ((0.05, 250), (0.01, 100)), ((1 / 255, 0), (0.0078125, -1)),
            ((0.3, 127), (0.001, 5))]
I8_TO_U8 = [((0.00390625, -128), (0.00390625, 0)), ((0.1, 0), (0.1, 128)), ((0.02, -5), (0.07, 200)),
            ((0.5, 10), (0.01, 0)), ((1 / 256, -128), (1 / 255, 0)), ((0.001, 127), (0.9, 255))]


@pytest.mark.parametrize("qi,qo", U8_TO_I8)
def test_quantize_uint8_to_int8(qi, qo):
    check_bit_exact(quantize_model("uint8", "int8", qi, qo), inputs=[(ALL_U8,)], kernel_sets=KS)


@pytest.mark.parametrize("qi,qo", I8_TO_U8)
def test_quantize_int8_to_uint8(qi, qo):
    check_bit_exact(quantize_model("int8", "uint8", qi, qo), inputs=[(ALL_I8,)], kernel_sets=KS)


def conv_u8_model(seed=0):
    """uint8 image -> QUANTIZE -> CONV_2D (per-channel) -> QUANTIZE -> uint8 (a camera model's edges)."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    xu = b.tensor("image", (1, 9, 9, 3), "uint8", 1 / 255, 0)
    x = b.tensor("x", (1, 9, 9, 3), "int8", 1 / 255, -128)
    w = b.const("w", rng.integers(-127, 128, (4, 3, 3, 3), dtype=np.int8),
                scale=list(rng.uniform(0.002, 0.01, 4)), zero_point=[0] * 4, quantized_dimension=0)
    bias = b.const("bias", rng.integers(-2000, 2000, 4).astype(np.int32))
    y = b.tensor("y", (1, 5, 5, 4), "int8", 0.03, -20)
    yu = b.tensor("out", (1, 5, 5, 4), "uint8", 0.03, 108)
    b.op("QUANTIZE", [xu], [x])
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", Padding="SAME", StrideW=2, StrideH=2,
         FusedActivationFunction="RELU")
    b.op("QUANTIZE", [y], [yu])
    return b.build([xu], [yu])


def test_conv_model_uint8_in_and_out():
    # fold_io_quantize moves both edge QUANTIZEs into set_input / get_output (256-entry tables):
    # the uint8 tensors take no arena bytes
    r = check_bit_exact(conv_u8_model(), trials=6, kernel_sets=KS)
    assert r["ops"] == 1
    it = Interpreter(pack(conv_u8_model(), "u8.tflite", kernels="ref", check_budget=False).binary)
    (d,), (o,) = it.input_details(), it.output_details()
    assert d["dtype"] == np.uint8 and d["converted_to"]["dtype"] == "int8" and o["dtype"] == np.uint8
    assert (d["scale"], d["zero_point"]) == (np.float32(1 / 255), 0) and o["zero_point"] == 108
    # with the fold off the QUANTIZE ops run as kernels, bit-exact too, in a larger arena
    r2 = check_bit_exact(conv_u8_model(), trials=3, kernel_sets=KS, disable=("fold_io_quantize",))
    assert r2["ops"] == 3 and r2["arena_bytes"]["ref"] > r["arena_bytes"]["ref"]


def test_folded_uint8_input_as_raw_bytes_and_wrong_dtype():
    from edge_rt.errors import InputError
    from edge_rt.testing.reference import TFLM
    data = conv_u8_model(1)
    it = Interpreter(pack(data, "u8.tflite", kernels="ref", check_budget=False).binary)
    x = np.random.default_rng(3).integers(0, 256, (1, 9, 9, 3), dtype=np.uint8)
    it.set_input(0, x.tobytes())  # the MicroPython path: bytes through the table
    it.invoke()
    assert np.array_equal(it.get_output(0), TFLM(data)(x)[0])
    with pytest.raises(InputError, match="expected uint8"):
        it.set_input(0, x.astype(np.int8))


def test_rejects_uint8_to_uint8_and_bad_zero_point():
    for data, words in ((quantize_model("uint8", "uint8", (0.1, 3), (0.2, 5)), "uint8 -> uint8"),
                        (quantize_model("int8", "uint8", (0.1, 3), (0.2, -5)), "zero point -5")):
        with pytest.raises(UnsupportedModelError) as e:
            pack(data, "q.tflite", check_budget=False)
        assert "(QUANTIZE)" in str(e.value) and words in str(e.value)


def test_uint8_edges_invoke_allocates_nothing():
    from edge_rt.testing.conformance import traced_invokes
    it = Interpreter(pack(conv_u8_model(), "u8.tflite", kernels="np", check_budget=False).binary, kernels="np")
    it.set_input(0, np.arange(243, dtype=np.uint8).reshape(1, 9, 9, 3))
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < 4096, (growth, peak)


def test_int8_uint8_int8_with_equal_grids_is_not_an_identity():
    # equal (scale, zero point) across a dtype change is no identity (passes.util.same_quant
    # compares dtypes): the uint8 tensor between must be computed
    b = ModelBuilder()
    x = b.tensor("x", (4, 64), "int8", 0.1, 5)
    u = b.tensor("u", (4, 64), "uint8", 0.1, 5)
    y = b.tensor("y", (4, 64), "int8", 0.05, -3)
    b.op("QUANTIZE", [x], [u])
    b.op("QUANTIZE", [u], [y])
    check_bit_exact(b.build([x], [y]), inputs=[(ALL_I8,)], kernel_sets=KS)
