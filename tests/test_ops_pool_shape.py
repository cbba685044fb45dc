"""Single-op conformance for pooling, shape and data-movement ops (AVERAGE_POOL_2D,
MAX_POOL_2D, RESHAPE, SQUEEZE, PAD, CONCATENATION, MEAN): bit-exact against TFLite Micro on
both kernel sets, plus the configurations TFLite Micro rejects being rejected at pack time."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.testing.c_set import C_SETS
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref") + C_SETS  # c: every op on the C kernels (all_c)


def _out_size(padding, n, f, s):
    return -(-n // s) if padding == "SAME" else (n - f + s) // s


def pool_model(kind, shape, filt, stride, padding, act="NONE", q_in=(0.05, -10), q_out=None):
    n, h, w, c = shape
    oh = _out_size(padding, h, filt[0], stride[0])
    ow = _out_size(padding, w, filt[1], stride[1])
    q_out = q_out or q_in
    b = ModelBuilder()
    x = b.tensor("x", shape, "int8", scale=q_in[0], zero_point=q_in[1])
    y = b.tensor("y", (n, oh, ow, c), "int8", scale=q_out[0], zero_point=q_out[1])
    b.op(kind, [x], [y], "Pool2DOptions", Padding=padding, StrideH=stride[0], StrideW=stride[1],
         FilterHeight=filt[0], FilterWidth=filt[1], FusedActivationFunction=act)
    return b.build([x], [y])


POOL_CASES = [
    # shape, filter, stride, padding, activation
    ((1, 7, 9, 3), (3, 3), (2, 2), "SAME", "NONE"),
    ((1, 7, 9, 3), (3, 3), (2, 2), "VALID", "RELU"),
    ((2, 5, 6, 4), (2, 3), (1, 1), "SAME", "RELU6"),
    ((1, 8, 7, 5), (4, 5), (3, 2), "SAME", "RELU_N1_TO_1"),  # windows hang over both edges
    ((1, 10, 11, 2), (5, 4), (3, 3), "VALID", "NONE"),
    ((1, 6, 6, 3), (6, 6), (1, 1), "VALID", "NONE"),          # global pooling
    ((1, 4, 5, 3), (7, 6), (2, 3), "SAME", "RELU"),           # filter larger than the image
    ((1, 9, 5, 2), (1, 1), (3, 2), "SAME", "NONE"),           # filter smaller than stride
]


@pytest.mark.parametrize("kind", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "x".join(map(str, c[0])) + f"-f{c[1]}-s{c[2]}-{c[3]}-{c[4]}")
def test_pool(kind, case):
    shape, filt, stride, padding, act = case
    check_bit_exact(pool_model(kind, shape, filt, stride, padding, act), trials=4, kernel_sets=KS, all_c=True)


def test_pool_scale_within_tolerance():
    # TFLite Micro accepts scales that differ by up to 1e-6
    data = pool_model("AVERAGE_POOL_2D", (1, 5, 5, 2), (2, 2), (2, 2), "SAME",
                      q_in=(0.05, 3), q_out=(0.0500004, 3))
    check_bit_exact(data, trials=3, kernel_sets=KS, all_c=True)


@pytest.mark.parametrize("kind", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("q_out", [(0.1, -10), (0.05, -9)])
def test_pool_rejects_requantization(kind, q_out):
    data = pool_model(kind, (1, 4, 4, 2), (2, 2), (2, 2), "VALID", q_out=q_out)
    with pytest.raises(UnsupportedModelError, match=kind + r".*quantization must be equal"):
        pack(data, "m.tflite", kernels="np")


# -- RESHAPE / SQUEEZE ---------------------------------------------------------------------
def _int8(b, name, shape, q=(0.05, -3)):
    return b.tensor(name, shape, "int8", scale=q[0], zero_point=q[1])


@pytest.mark.parametrize("via", ["options", "const_input", "both"])
@pytest.mark.parametrize("new_shape", [(2, 3, 10), (-1, 12), (60,), (1, -1, 5, 1)])
def test_reshape(via, new_shape):
    b = ModelBuilder()
    x = _int8(b, "x", (1, 4, 5, 3))
    known = int(np.prod([d for d in new_shape if d != -1]))
    out = tuple(60 // known if d == -1 else d for d in new_shape)
    y = _int8(b, "y", out)
    ins = [x]
    if via != "options":
        ins.append(b.const("shape", np.array(new_shape, np.int32)))
    opts = {"NewShape": list(new_shape)} if via != "const_input" else {}
    b.op("RESHAPE", ins, [y], "ReshapeOptions" if opts else None, **opts)
    check_bit_exact(b.build([x], [y]), trials=3, kernel_sets=KS, all_c=True)


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
def test_reshape_other_dtypes(dtype):
    b = ModelBuilder()
    x = b.tensor("x", (2, 3, 4), dtype)
    y = b.tensor("y", (4, 6), dtype)
    b.op("RESHAPE", [x, b.const("shape", np.array([4, -1], np.int32))], [y])
    check_bit_exact(b.build([x], [y]), trials=2, kernel_sets=KS, all_c=True)


def test_reshape_rejects_element_count_mismatch():
    b = ModelBuilder()
    x = _int8(b, "x", (1, 4, 5, 3))
    y = _int8(b, "y", (7, 9))
    b.op("RESHAPE", [x, b.const("shape", np.array([7, 9], np.int32))], [y])
    with pytest.raises(UnsupportedModelError, match="RESHAPE"):
        pack(b.build([x], [y]), "m.tflite", kernels="np")


@pytest.mark.parametrize("dims,in_shape,out_shape", [
    ([], (1, 3, 1, 4, 1), (3, 4)),
    ([0, 2], (1, 3, 1, 4, 1), (3, 4, 1)),
    ([-1], (2, 3, 1), (2, 3)),
    ([-3, 4], (1, 3, 1, 4, 1), (1, 3, 4)),
])
def test_squeeze(dims, in_shape, out_shape):
    b = ModelBuilder()
    x = _int8(b, "x", in_shape)
    y = _int8(b, "y", out_shape)
    b.op("SQUEEZE", [x], [y], "SqueezeOptions", SqueezeDims=dims)
    check_bit_exact(b.build([x], [y]), trials=3, kernel_sets=KS, all_c=True)


def test_squeeze_rejects_non_unit_dim():
    b = ModelBuilder()
    x = _int8(b, "x", (1, 3, 4))
    y = _int8(b, "y", (1, 4))
    b.op("SQUEEZE", [x], [y], "SqueezeOptions", SqueezeDims=[1])
    with pytest.raises(UnsupportedModelError, match="SQUEEZE.*size-1"):
        pack(b.build([x], [y]), "m.tflite", kernels="np")


# -- PAD ------------------------------------------------------------------------------------
PAD_CASES = [
    ((5, 7), [[1, 2], [0, 3]]),
    ((3, 4, 5), [[2, 0], [1, 1], [0, 2]]),
    ((1, 5, 6, 3), [[0, 0], [1, 2], [2, 1], [0, 0]]),   # image-style
    ((2, 3, 4, 2), [[1, 0], [0, 2], [3, 1], [1, 2]]),   # every dim padded
    ((2, 2, 3, 2, 3), [[0, 1], [1, 0], [0, 2], [1, 1], [2, 0]]),
    ((9,), [[4, 3]]),
]


def pad_model(in_shape, pads, zp):
    b = ModelBuilder()
    x = _int8(b, "x", in_shape, (0.02, zp))
    out = tuple(d + p[0] + p[1] for d, p in zip(in_shape, pads))
    y = _int8(b, "y", out, (0.02, zp))
    b.op("PAD", [x, b.const("pads", np.array(pads, np.int32))], [y])
    return b.build([x], [y])


@pytest.mark.parametrize("in_shape,pads", PAD_CASES)
@pytest.mark.parametrize("zp", [-128, 7])
def test_pad(in_shape, pads, zp):
    check_bit_exact(pad_model(in_shape, pads, zp), trials=3, kernel_sets=KS, all_c=True)


def test_pad_constant_value_input():
    b = ModelBuilder()
    x = _int8(b, "x", (1, 3, 4, 2), (0.02, 5))
    y = _int8(b, "y", (1, 5, 5, 2), (0.02, 5))
    cv = b.const("cv", np.array([-77], np.int8), scale=0.02, zero_point=5)
    b.op("PAD", [x, b.const("pads", np.array([[0, 0], [1, 1], [0, 1], [0, 0]], np.int32)), cv], [y])
    check_bit_exact(b.build([x], [y]), trials=3, kernel_sets=KS, all_c=True)


def test_pad_float32():
    b = ModelBuilder()
    x = b.tensor("x", (3, 4), "float32")
    y = b.tensor("y", (4, 7), "float32")
    b.op("PAD", [x, b.const("pads", np.array([[1, 0], [2, 1]], np.int32))], [y])
    check_bit_exact(b.build([x], [y]), trials=2, kernel_sets=KS, all_c=True)


# -- CONCATENATION --------------------------------------------------------------------------
CONCAT_AXES = [0, 1, 2, 3, -1, -3]


def concat_model(axis, n_inputs):
    base = (2, 3, 4, 5)
    a = axis % 4
    sizes = [1, 3, 2][:n_inputs]
    b = ModelBuilder()
    xs = [_int8(b, f"x{i}", base[:a] + (s,) + base[a + 1:], (0.03, 11)) for i, s in enumerate(sizes)]
    y = _int8(b, "y", base[:a] + (sum(sizes),) + base[a + 1:], (0.03, 11))
    b.op("CONCATENATION", xs, [y], "ConcatenationOptions", Axis=axis)
    return b.build(xs, [y])


@pytest.mark.parametrize("n_inputs", [2, 3])
@pytest.mark.parametrize("axis", CONCAT_AXES)
def test_concatenation(axis, n_inputs):
    check_bit_exact(concat_model(axis, n_inputs), trials=3, kernel_sets=KS, all_c=True)


def test_concatenation_2d_with_constant_input():
    b = ModelBuilder()
    x = _int8(b, "x", (3, 4), (0.03, 11))
    c = b.const("c", np.arange(-6, 6, dtype=np.int8).reshape(3, 4), scale=0.03, zero_point=11)
    y = _int8(b, "y", (3, 8), (0.03, 11))
    b.op("CONCATENATION", [c, x], [y], "ConcatenationOptions", Axis=1)
    check_bit_exact(b.build([x], [y]), trials=2, kernel_sets=KS, all_c=True)


@pytest.mark.parametrize("problem", ["scale", "zero_point", "activation"])
def test_concatenation_rejects(problem):
    b = ModelBuilder()
    x0 = _int8(b, "x0", (1, 4), (0.03, 11))
    x1 = _int8(b, "x1", (1, 4), {"scale": (0.04, 11), "zero_point": (0.03, 10)}.get(problem, (0.03, 11)))
    y = _int8(b, "y", (1, 8), (0.03, 11))
    act = "RELU" if problem == "activation" else "NONE"
    b.op("CONCATENATION", [x0, x1], [y], "ConcatenationOptions", Axis=1, FusedActivationFunction=act)
    want = "activation" if problem == "activation" else "quantization must be equal"
    with pytest.raises(UnsupportedModelError, match="CONCATENATION.*" + want):
        pack(b.build([x0, x1], [y]), "m.tflite", kernels="np")


# -- MEAN -----------------------------------------------------------------------------------
MEAN_CASES = [
    # input shape, axes, keep_dims
    ((1, 5, 7, 6), [1, 2], True),
    ((2, 5, 7, 6), [1, 2], False),
    ((2, 5, 7, 6), [2, 1], True),
    ((2, 4, 6, 3), [-1], False),
    ((2, 4, 6, 3), [3], True),
    ((3, 4, 5), [1], False),
    ((3, 4, 5), [0, 2], True),
    ((2, 9, 1, 4), [1, 2], False),
    ((4, 6), [0, 1], False),
    ((2, 3, 4, 5), [0, -1, 0], True),  # duplicate axes count once
]
MEAN_QUANT = {"equal": ((0.05, -3), (0.05, -3)), "narrower": ((0.05, -3), (0.02, 10)),
              "wider": ((0.02, 40), (0.11, -100)), "tiny_out": ((0.8, 0), (0.001, 0))}


def mean_model(case, quant):
    shape, axes, keep = case
    q_in, q_out = MEAN_QUANT[quant]
    rank = len(shape)
    red = {a % rank for a in axes}
    out = tuple(1 if d in red else s for d, s in enumerate(shape)) if keep else \
        tuple(s for d, s in enumerate(shape) if d not in red)
    b = ModelBuilder()
    x = _int8(b, "x", shape, q_in)
    y = _int8(b, "y", out, q_out)
    b.op("MEAN", [x, b.const("axes", np.array(axes, np.int32))], [y], "ReducerOptions", KeepDims=keep)
    return b.build([x], [y])


@pytest.mark.parametrize("quant", list(MEAN_QUANT))
@pytest.mark.parametrize("case", MEAN_CASES, ids=lambda c: "x".join(map(str, c[0])) + f"-ax{c[1]}-keep{c[2]}")
def test_mean(case, quant):
    check_bit_exact(mean_model(case, quant), trials=3, kernel_sets=KS, all_c=True)


def test_mean_scalar_axis():
    b = ModelBuilder()
    x = _int8(b, "x", (2, 5, 3), (0.05, -3))
    y = _int8(b, "y", (2, 5), (0.03, 4))
    b.op("MEAN", [x, b.const("axes", np.array(2, np.int32))], [y], "ReducerOptions", KeepDims=False)
    check_bit_exact(b.build([x], [y]), trials=3, kernel_sets=KS, all_c=True)


def test_pad_rejects_int64_paddings():
    # TFLite Micro reads paddings as int32 whatever their type, so it fails on int64 ones
    b = ModelBuilder()
    x = _int8(b, "x", (3, 4))
    y = _int8(b, "y", (4, 7))
    b.op("PAD", [x, b.const("pads", np.array([[1, 0], [2, 1]], np.int64))], [y])
    with pytest.raises(UnsupportedModelError, match="int64|INT64"):
        pack(b.build([x], [y]), "m.tflite", kernels="np")


def test_pool_rejects_tanh_activation():
    data = pool_model("MAX_POOL_2D", (1, 4, 4, 2), (2, 2), (2, 2), "VALID", act="TANH")
    with pytest.raises(UnsupportedModelError, match="MAX_POOL_2D.*TANH"):
        pack(data, "m.tflite", kernels="np")


def test_chain_pad_pool_mean_reshape_concat():
    """The ops feeding each other (the RESHAPE may be aliased away by a memory pass)."""
    q = (0.04, -5)
    b = ModelBuilder()
    x = _int8(b, "x", (1, 6, 7, 4), q)
    x2 = _int8(b, "x2", (1, 3), (0.02, 6))
    p = _int8(b, "p", (1, 8, 9, 4), q)
    a = _int8(b, "a", (1, 3, 4, 4), q)
    mx = _int8(b, "mx", (1, 2, 2, 4), q)
    mn = _int8(b, "mn", (1, 1, 1, 4), (0.02, 6))
    r = _int8(b, "r", (1, 4), (0.02, 6))
    y = _int8(b, "y", (1, 7), (0.02, 6))
    b.op("PAD", [x, b.const("pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))], [p])
    b.op("AVERAGE_POOL_2D", [p], [a], "Pool2DOptions", Padding="VALID", StrideH=2, StrideW=2,
         FilterHeight=3, FilterWidth=3)
    b.op("MAX_POOL_2D", [a], [mx], "Pool2DOptions", Padding="SAME", StrideH=2, StrideW=2,
         FilterHeight=2, FilterWidth=3, FusedActivationFunction="RELU")
    b.op("MEAN", [mx, b.const("axes", np.array([1, 2], np.int32))], [mn], "ReducerOptions", KeepDims=True)
    b.op("RESHAPE", [mn, b.const("shape", np.array([1, 4], np.int32))], [r])
    b.op("CONCATENATION", [x2, r], [y], "ConcatenationOptions", Axis=-1)
    data = b.build([x, x2], [y])
    check_bit_exact(data, trials=4, kernel_sets=KS, all_c=True)
