"""int16 activations (the int16x8 scheme, zero point 0) for the element-wise, pooling and
data-movement ops: ADD, SUB, MUL, QUANTIZE, DEQUANTIZE, PAD, AVERAGE_POOL_2D, MAX_POOL_2D,
RESHAPE, SQUEEZE, CONCATENATION. Single-op models bit-exact (0 LSB) against TFLite Micro on the
ref and np sets, and packed for c and viper, whose int16 ops resolve to np / ref (or run on c:
the byte copies); the rules TFLite Micro imposes are rejected at pack time; int8-only fusions
leave int16 ops alone; the numpy set allocates nothing per invoke."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.kernels import quant
from edge_rt.kernels.np import _int16
from edge_rt.testing.c_set import C_BUILT
from edge_rt.testing.conformance import check_bit_exact, run_edge, traced_invokes
from edge_rt.testing.reference import TFLM, random_input
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref") + (("c",) if C_BUILT else ())
OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}
COPY_OPS = {"RESHAPE", "SQUEEZE", "PAD", "CONCATENATION"}  # byte copies: the C set runs them


def i16(b, name, shape, scale=0.001):
    return b.tensor(name, shape, "int16", scale, 0)


def check(data, trials=3, inputs=None, on_c="np", on_viper="ref"):
    """check_bit_exact on ref, np and c, plus the viper-packed file. on_c: the set each op of the
    c-packed file runs on ("np": every op, an int16 op the C set lacks; "c": every op, a byte copy
    the C set runs for int16; or a list, one per op). on_viper: likewise the set each op of the
    viper-packed file is packed for ("viper" for PAD and CONCATENATION, byte copies; on CPython,
    where viper does not load, they run on ref; test_viper runs them on viper)."""
    rep = check_bit_exact(data, trials=trials, kernel_sets=KS, inputs=inputs)
    sets = rep["op_kernel_sets"]
    assert set(sets["np"]) == {"np"} and set(sets["ref"]) == {"ref"}, sets
    if "c" in sets:
        assert sets["c"] == (on_c if isinstance(on_c, list) else [on_c] * len(sets["c"])), sets["c"]
    res = pack(data, "m.tflite", kernels="viper", check_budget=False)
    packed = [op.kernel_set for op in res.graph.ops]
    assert packed == (on_viper if isinstance(on_viper, list) else [on_viper] * len(packed)), packed
    it = Interpreter(res.binary)
    assert set(it.op_kernel_sets) == {"ref"}
    ref = TFLM(data)
    rng = np.random.default_rng(1)
    for _ in range(2):
        xs = [random_input(d["shape"], d["dtype"], rng) for d in it.input_details()]
        for g, w in zip(run_edge(it, xs), ref(*xs)):
            assert np.array_equal(g, w)
    return rep


# -- the vectorized requantization ---------------------------------------------------------
@pytest.mark.parametrize("shift", [-31, -20, -15, -1, 0, 1, 3, 14, 30])
def test_mbqm_steps_match_the_scalar_reference(shift):
    rng = np.random.default_rng(shift + 40)
    x = np.concatenate([rng.integers(-(1 << 31), 1 << 31, 3000), [-(1 << 31), (1 << 31) - 1, 0, 1, -1,
                                                                  1 << 30, -(1 << 30)]]).astype(np.int64)
    for mult in (1 << 30, (1 << 31) - 1, 1518500250, 1073741825):
        t, s = x.copy(), np.zeros_like(x)
        for fn, args in _int16.mbqm_steps(t, mult, shift, s):
            fn(*args)
        want = [quant.mbqm(int(v), mult, shift) for v in x]
        assert t.tolist() == want


# -- ADD / SUB / MUL -----------------------------------------------------------------------
def binary_model(op, sa, sb, so, qa, qb, qo, act="NONE"):
    b = ModelBuilder()
    x1, x2, y = i16(b, "a", sa, qa), i16(b, "b", sb, qb), i16(b, "y", so, qo)
    b.op(op, [x1, x2], [y], OPTIONS[op], FusedActivationFunction=act)
    return b.build([x1, x2], [y])


BROADCASTS = [
    ((3, 5, 7), (3, 5, 7), (3, 5, 7)),
    ((1, 4, 5, 3), (1,), (1, 4, 5, 3)),
    ((2, 4, 3, 5), (1, 1, 1, 5), (2, 4, 3, 5)),
    ((2, 1, 3, 1), (1, 4, 1, 5), (2, 4, 3, 5)),
    ((1, 2, 1, 3, 1, 2), (2, 1, 3, 1, 4, 1), (2, 2, 3, 3, 4, 2)),  # 6-D
    ((), (3, 4), (3, 4)),
    ((3, 1000), (1, 1000), (3, 1000)),  # more than one band
]


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("shapes", BROADCASTS, ids=lambda s: "x".join(map(str, s[0])) + "_" + "x".join(map(str, s[1])))
def test_binary_broadcasting(op, shapes):
    qo = 2e-2 if op == "MUL" else 2e-3
    check(binary_model(op, *shapes, 1e-3, 7e-4, qo), trials=2)


# (scale a, scale b, scale out): equal, extreme ratios between the inputs and to the output
ADD_SCALES = [(1e-3, 1e-3, 1e-3), (1e-3, 1e-3, 2.5e-3), (3e-5, 1e-3, 1.1e-3), (1e-3, 3e-7, 1e-3),
              (2 ** -15, 2 ** -15, 2 ** -14), (5e-2, 1e-4, 1e-6 * 150), (1e-3, 1e-3, 1e-7 * 70)]
MUL_SCALES = [(1e-3, 1e-3, 1e-3), (2 ** -15, 2 ** -15, 2 ** -15), (3e-2, 5e-3, 1e-7),  # left shift: wraps
              (1e-4, 1e-4, 3.0), (0.5, 0.5, 1e-4)]


@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("scales", ADD_SCALES)
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
def test_add_sub_scales_and_activations(op, scales, act):
    check(binary_model(op, (2, 3, 40), (2, 3, 40), (2, 3, 40), *scales, act=act), trials=2)


@pytest.mark.parametrize("scales", MUL_SCALES)
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6"])
def test_mul_scales_and_activations(scales, act):
    check(binary_model("MUL", (2, 3, 40), (1, 3, 40), (2, 3, 40), *scales, act=act), trials=2)


def test_binary_extremes():
    """Every corner of int16 on both inputs (-32768 << 15 = -2**30 is the largest shifted value)."""
    v = np.array([-32768, -32767, -1, 0, 1, 32766, 32767], np.int16)
    a, b = np.meshgrid(v, v)
    for op in ("ADD", "SUB", "MUL"):
        data = binary_model(op, a.shape, a.shape, a.shape, 1e-3, 1e-3, 1e-3 if op != "MUL" else 3e-2)
        check(data, inputs=[(a.copy(), b.copy())])


@pytest.mark.parametrize("problem", ["mixed", "zero_point", "output_scale"])
def test_binary_rejects(problem):
    b = ModelBuilder()
    x1 = i16(b, "a", (2, 3))
    x2 = b.tensor("b", (2, 3), "int8", 0.05, 0) if problem == "mixed" else \
        b.tensor("b", (2, 3), "int16", 1e-3, 9 if problem == "zero_point" else 0)
    y = i16(b, "y", (2, 3), 1e-9 if problem == "output_scale" else 1e-3)
    b.op("ADD", [x1, x2], [y], "AddOptions")
    want = {"mixed": "input2 .* is int8; supported: int16", "zero_point": "zero point 9 must be 0",
            "output_scale": r"must be in \(0, 1\)"}[problem]
    with pytest.raises(UnsupportedModelError, match=r"\(ADD\).*" + want):
        pack(b.build([x1, x2], [y]), "m.tflite", kernels="np")


# -- QUANTIZE / DEQUANTIZE -----------------------------------------------------------------
def unary_model(op, shape, tin, qin, tout, qout):
    b = ModelBuilder()
    x = b.tensor("x", shape, tin, *qin)
    y = b.tensor("y", shape, tout, *qout)
    b.op(op, [x], [y])
    return b.build([x], [y])


REQUANT = [  # (input dtype, (scale, zp)), (output dtype, (scale, zp))
    ("int8", (0.05, -3), "int16", (1e-3, 0)),
    ("int8", (0.05, 7), "int16", (3e-6, 0)),        # saturates
    ("int8", (2e-4, 0), "int16", (1e-3, 0)),
    ("int16", (1e-3, 0), "int8", (0.05, -3)),
    ("int16", (1e-4, 0), "int8", (2e-6, 100)),     # saturates
    ("int16", (1e-3, 0), "int16", (1e-3, 0)),      # identity
    ("int16", (1e-3, 0), "int16", (7.3e-4, 0)),
    ("int16", (1e-3, 0), "int16", (3.1e-2, 0)),
    ("int16", (1e-3, 0), "int16", (1e-3 / 9000, 0)),   # left shift 14
    ("int16", (1e-3, 0), "int16", (1e-3 / 1e5, 0)),    # left shift 17: x << 17 leaves int32 and wraps
    ("int16", (2e-3, 17), "int16", (1e-3, -5)),     # TFLite Micro takes zero points here
]


@pytest.mark.parametrize("tin,qin,tout,qout", REQUANT)
def test_requantize(tin, qin, tout, qout):
    data = unary_model("QUANTIZE", (3, 257), tin, qin, tout, qout)
    check(data, trials=2)
    if tin == "int8":
        check(data, inputs=[(np.resize(np.arange(-128, 128, dtype=np.int8), (3, 257)),)])
    else:
        check(data, inputs=[(np.resize(np.arange(-32768, 32768, 97, dtype=np.int16), (3, 257)),)])


@pytest.mark.parametrize("scale,zp", [(1e-4, 0), (3e-3, 0), (0.5, 0), (1e-4, 1000)])
def test_quantize_float_to_int16(scale, zp):
    data = unary_model("QUANTIZE", (4, 300), "float32", (), "int16", (scale, zp))
    x = np.random.default_rng(3).uniform(-4, 4, (4, 300)).astype(np.float32)
    x[0, :8] = [np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, -0.0, scale * 2.5]  # saturation, NaN, ties
    check(data, inputs=[(x,), (x * 0.01,)])


@pytest.mark.parametrize("scale,zp", [(1e-4, 0), (3.7e-3, 0), (1.0, 0), (2e-5, -300)])
def test_dequantize_int16(scale, zp):
    data = unary_model("DEQUANTIZE", (2, 400), "int16", (scale, zp), "float32", ())
    check(data, inputs=[(np.resize(np.arange(-32768, 32768, 163, dtype=np.int16), (2, 400)),)])


# -- AVERAGE_POOL_2D / MAX_POOL_2D -----------------------------------------------------------
def _out(padding, n, f, s):
    return -(-n // s) if padding == "SAME" else (n - f + s) // s


def pool_model(kind, shape, filt, stride, padding, act="NONE", q=(1e-3, 0)):
    n, h, w, c = shape
    b = ModelBuilder()
    x = b.tensor("x", shape, "int16", *q)
    y = b.tensor("y", (n, _out(padding, h, filt[0], stride[0]), _out(padding, w, filt[1], stride[1]), c),
                 "int16", *q)
    b.op(kind, [x], [y], "Pool2DOptions", Padding=padding, StrideH=stride[0], StrideW=stride[1],
         FilterHeight=filt[0], FilterWidth=filt[1], FusedActivationFunction=act)
    return b.build([x], [y])


POOL_CASES = [
    ((1, 7, 9, 3), (3, 3), (2, 2), "SAME", "NONE"),
    ((1, 7, 9, 3), (3, 3), (2, 2), "VALID", "RELU"),
    ((2, 5, 6, 4), (2, 3), (1, 1), "SAME", "RELU6"),
    ((1, 8, 7, 5), (4, 5), (3, 2), "SAME", "RELU_N1_TO_1"),  # windows over both edges
    ((1, 6, 6, 3), (6, 6), (1, 1), "VALID", "NONE"),          # global pooling
    ((1, 4, 5, 3), (7, 6), (2, 3), "SAME", "RELU"),           # filter larger than the image
    ((1, 9, 5, 2), (1, 1), (3, 2), "SAME", "NONE"),           # filter smaller than the stride
    ((1, 40, 40, 1), (40, 40), (1, 1), "VALID", "NONE"),      # 1,600 taps: sums past 2**24
]


@pytest.mark.parametrize("kind", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "x".join(map(str, c[0])) + f"-f{c[1]}-s{c[2]}-{c[3]}-{c[4]}")
def test_pool(kind, case):
    shape, filt, stride, padding, act = case
    check(pool_model(kind, shape, filt, stride, padding, act), trials=2)


@pytest.mark.parametrize("kind", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_pool_extremes_and_a_zero_point(kind):
    """All -32768 (the max pool's start value, the most negative sums), all 32767, and halves."""
    data = pool_model(kind, (1, 6, 5, 2), (3, 2), (2, 2), "SAME", q=(2e-3, 11))
    xs = [np.full((1, 6, 5, 2), v, np.int16) for v in (-32768, 32767, -3, 3)]
    xs.append(np.resize(np.array([-32768, 32767, -1, 0, 1], np.int16), (1, 6, 5, 2)))
    check(data, inputs=[(x,) for x in xs])


@pytest.mark.parametrize("shape", [(1, 16, 32, 2), (1, 17, 32, 2)])  # 512 taps (float32 sums), 544 (float64)
def test_average_pool_sums_at_the_float32_limit(shape):
    data = pool_model("AVERAGE_POOL_2D", shape, shape[1:3], (1, 1), "VALID")
    xs = [np.full(shape, v, np.int16) for v in (-32768, 32767)]
    xs.append(np.resize(np.array([-32768, -32768, -32768, 32767], np.int16), shape))
    check(data, inputs=[(x,) for x in xs])


def test_pool_rejects_requantization():
    b = ModelBuilder()
    x, y = i16(b, "x", (1, 4, 4, 2), 1e-3), i16(b, "y", (1, 2, 2, 2), 2e-3)
    b.op("AVERAGE_POOL_2D", [x], [y], "Pool2DOptions", Padding="VALID", StrideH=2, StrideW=2,
         FilterHeight=2, FilterWidth=2)
    with pytest.raises(UnsupportedModelError, match="AVERAGE_POOL_2D.*quantization must be equal"):
        pack(b.build([x], [y]), "m.tflite", kernels="np")


# -- PAD / RESHAPE / SQUEEZE / CONCATENATION (byte copies: on c they run on the C kernels) -----
PAD_CASES = [
    ((5, 7), [[1, 2], [0, 3]]),
    ((1, 5, 6, 3), [[0, 0], [1, 2], [2, 1], [0, 0]]),
    ((2, 3, 4, 2), [[1, 0], [0, 2], [3, 1], [1, 2]]),
    ((2, 2, 3, 2, 3), [[0, 1], [1, 0], [0, 2], [1, 1], [2, 0]]),
]


def _pad_model(in_shape, pads, value):
    b = ModelBuilder()
    x = i16(b, "x", in_shape)
    y = i16(b, "y", tuple(d + p[0] + p[1] for d, p in zip(in_shape, pads)))
    ins = [x, b.const("pads", np.array(pads, np.int32))]
    if value is not None:
        ins.append(b.const("cv", np.array([value], np.int16), 1e-3, 0))
    b.op("PAD", ins, [y])
    return b.build([x], [y])


@pytest.mark.parametrize("in_shape,pads", PAD_CASES)
@pytest.mark.parametrize("value", [None, -1234])
def test_pad(in_shape, pads, value):
    check(_pad_model(in_shape, pads, value), on_c="c", on_viper="viper")


def test_pad_rejects_an_int16_zero_point():
    b = ModelBuilder()
    x, y = b.tensor("x", (3, 4), "int16", 1e-3, 5), b.tensor("y", (4, 4), "int16", 1e-3, 5)
    b.op("PAD", [x, b.const("pads", np.array([[1, 0], [0, 0]], np.int32))], [y])
    with pytest.raises(UnsupportedModelError, match="PAD.*zero point 5 must be 0"):
        pack(b.build([x], [y]), "m.tflite", kernels="np")


@pytest.mark.parametrize("kind", ["RESHAPE", "SQUEEZE"])
def test_reshape_squeeze(kind):
    b = ModelBuilder()
    x, y = i16(b, "x", (1, 4, 1, 6)), i16(b, "y", (4, 6))
    if kind == "RESHAPE":
        b.op("RESHAPE", [x, b.const("shape", np.array([4, -1], np.int32))], [y])
    else:
        b.op("SQUEEZE", [x], [y], "SqueezeOptions", SqueezeDims=[0, 2])
    # alone in a graph the op cannot be aliased away: it copies
    check(b.build([x], [y]), on_c="c")


def _concat_model(axis, n):
    base, sizes = (2, 3, 4, 5), [1, 3, 2][:n]
    a = axis % 4
    b = ModelBuilder()
    xs = [i16(b, f"x{i}", base[:a] + (s,) + base[a + 1:]) for i, s in enumerate(sizes)]
    y = i16(b, "y", base[:a] + (sum(sizes),) + base[a + 1:])
    b.op("CONCATENATION", xs, [y], "ConcatenationOptions", Axis=axis)
    return b.build(xs, [y])


@pytest.mark.parametrize("axis,n", [(0, 2), (1, 3), (3, 2), (-1, 3), (-3, 1)])
def test_concatenation(axis, n):
    check(_concat_model(axis, n), on_c="c", on_viper="viper")


def test_concatenation_rejects_different_scales():
    # TFLite Micro copies int16 values across scales unchanged (it would output 4000 for a 1000 of
    # input 1 below); we refuse the model rather than reproduce that
    b = ModelBuilder()
    x0, x1, y = i16(b, "x0", (1, 4), 1e-3), i16(b, "x1", (1, 4), 4e-3), i16(b, "y", (1, 8), 1e-3)
    b.op("CONCATENATION", [x0, x1], [y], "ConcatenationOptions", Axis=1)
    with pytest.raises(UnsupportedModelError, match="CONCATENATION.*copies int16 values without rescaling"):
        pack(b.build([x0, x1], [y]), "m.tflite", kernels="np")


# -- int8-only fusions leave int16 ops alone ----------------------------------------------
def _graph(tensors, ops, inputs, outputs):
    from edge_rt.compiler.ir import Graph
    return Graph(tensors=tensors, ops=ops, inputs=inputs, outputs=outputs, meta={})


def _t(name, shape, dtype="int16", data=None):
    from edge_rt.compiler.ir import Tensor
    q = dtype in ("int8", "int16")
    return Tensor(name, tuple(shape), dtype, np.array([1e-3], np.float32) if q else None,
                  np.array([0], np.int64) if q else None, data=data)


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_residual_fusion_is_int8_only(dtype):
    from edge_rt.compiler.ir import Op
    from edge_rt.compiler.passes.fuse import fuse_residual
    w = _t("w", (2, 1, 1, 2), "int8", np.ones((2, 1, 1, 2), np.int8))
    ts = [_t("x", (1, 4, 4, 2), dtype), w, _t("c", (1, 4, 4, 2), dtype), _t("s", (1, 4, 4, 2), dtype),
          _t("y", (1, 4, 4, 2), dtype)]
    ops = [Op("CONV_2D", [0, 1], [2], {"padding": "SAME"}, source=[0]), Op("ADD", [2, 3], [4], source=[1])]
    g, note = fuse_residual(_graph(ts, ops, [0, 3], [4]))
    assert [op.type for op in g.ops] == (["CONV_2D_ADD"] if dtype == "int8" else ["CONV_2D", "ADD"])


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_pad_folds_into_a_convolution_of_its_dtype(dtype):
    """int16x8 convolutions have zero point 0, so a PAD before one folds as for int8 (its
    exactness against TFLite Micro: tests/test_ops_int16_weighted.py)."""
    from edge_rt.compiler.ir import Op
    from edge_rt.compiler.passes.fold_pad import fold_pad
    pads = _t("pads", (4, 2), "int32", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))
    w = _t("w", (2, 3, 3, 2), "int8", np.ones((2, 3, 3, 2), np.int8))
    ts = [_t("x", (1, 4, 4, 2), dtype), pads, _t("p", (1, 6, 6, 2), dtype), w, _t("y", (1, 4, 4, 2), dtype)]
    ops = [Op("PAD", [0, 1], [2], source=[0]), Op("CONV_2D", [2, 3], [4], {"padding": "VALID"}, source=[1])]
    g, _ = fold_pad(_graph(ts, ops, [0], [4]))
    assert [op.type for op in g.ops] == ["CONV_2D"]
    assert g.ops[0].options["pad"] == (1, 1, 1, 1)


@pytest.mark.parametrize("act", ["RELU", "RELU6"])
def test_activation_folds_into_int16_producers(act):
    """fold_activation is dtype-agnostic and exact for int16: with equal quantization the
    standalone clamp is the producer's fused clamp on the same int16 grid."""
    b = ModelBuilder()
    x1, x2, m, y = i16(b, "a", (2, 30)), i16(b, "b", (2, 30)), i16(b, "m", (2, 30), 2e-3), i16(b, "y", (2, 30), 2e-3)
    b.op("ADD", [x1, x2], [m], "AddOptions")
    b.op(act, [m], [y])
    data = b.build([x1, x2], [y])
    g = pack(data, "m.tflite", kernels="np").graph
    assert [(op.type, op.options.get("activation")) for op in g.ops] == [("ADD", act)]
    check(data)


def test_lookup_chains_are_int8_only():
    # int8 -> QUANTIZE -> int16 -> QUANTIZE -> int8: per-element, but not an int8 -> int8 chain
    b = ModelBuilder()
    x = b.tensor("x", (2, 50), "int8", 0.05, 3)
    m = i16(b, "m", (2, 50), 1e-4)
    y = b.tensor("y", (2, 50), "int8", 0.03, -7)
    b.op("QUANTIZE", [x], [m])
    b.op("QUANTIZE", [m], [y])
    data = b.build([x], [y])
    res = pack(data, "m.tflite", kernels="np")
    assert [op.type for op in res.graph.ops] == ["QUANTIZE", "QUANTIZE"]
    check(data, inputs=[(np.resize(np.arange(-128, 128, dtype=np.int8), (2, 50)),)])


def test_float_edges_stay_quantize_ops():
    """fold_io_quantize folds float32 <-> int8 edges into the runtime's io_convert; int16 edges
    stay ops (io_convert converts int8 only): the file's inputs and outputs are float32."""
    b = ModelBuilder()
    xf, x, yf = b.tensor("xf", (3, 20), "float32"), i16(b, "x", (3, 20), 2e-4), b.tensor("yf", (3, 20), "float32")
    b.op("QUANTIZE", [xf], [x])
    b.op("DEQUANTIZE", [x], [yf])
    data = b.build([xf], [yf])
    res = pack(data, "m.tflite", kernels="np")
    assert [op.type for op in res.graph.ops] == ["QUANTIZE", "DEQUANTIZE"]
    it = Interpreter(res.binary)
    assert it.input_details()[0]["dtype"] == np.float32 and it.output_details()[0]["dtype"] == np.float32
    check(data)


# -- a small int16 model: float -> QUANTIZE -> ADD -> AVERAGE_POOL -> ... -> DEQUANTIZE --------
def int16_model():
    """float32 in -> QUANTIZE int16 -> ADD(const) -> AVERAGE_POOL -> MUL(x, x) -> PAD -> MAX_POOL
    -> SUB(broadcast) -> RESHAPE -> CONCATENATION -> QUANTIZE int8 -> QUANTIZE int16 -> DEQUANTIZE."""
    b = ModelBuilder()
    xf = b.tensor("xf", (1, 8, 8, 3), "float32")
    x = i16(b, "x", (1, 8, 8, 3), 1e-4)
    c = b.const("c", np.arange(-300, 300, 25, dtype=np.int16)[:3].reshape(1, 1, 1, 3) * 40, 2e-4, 0)
    a = i16(b, "a", (1, 8, 8, 3), 2e-4)
    p = i16(b, "p", (1, 4, 4, 3), 2e-4)
    sq = i16(b, "sq", (1, 4, 4, 3), 3e-4)
    pd = i16(b, "pd", (1, 6, 6, 3), 3e-4)
    mx = i16(b, "mx", (1, 3, 3, 3), 3e-4)
    s = i16(b, "s", (1, 3, 3, 3), 4e-4)
    r = i16(b, "r", (1, 27), 4e-4)
    x2 = b.tensor("x2", (1, 5), "int8", 0.02, 4)
    x2w = i16(b, "x2w", (1, 5), 4e-4)
    cat = i16(b, "cat", (1, 32), 4e-4)
    q8 = b.tensor("q8", (1, 32), "int8", 0.01, -2)
    q16 = i16(b, "q16", (1, 32), 1e-4)
    yf = b.tensor("yf", (1, 32), "float32")
    b.op("QUANTIZE", [xf], [x])
    b.op("ADD", [x, c], [a], "AddOptions", FusedActivationFunction="NONE")
    b.op("AVERAGE_POOL_2D", [a], [p], "Pool2DOptions", Padding="SAME", StrideH=2, StrideW=2,
         FilterHeight=3, FilterWidth=3)
    b.op("MUL", [p, p], [sq], "MulOptions", FusedActivationFunction="RELU")
    b.op("PAD", [sq, b.const("pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))], [pd])
    b.op("MAX_POOL_2D", [pd], [mx], "Pool2DOptions", Padding="VALID", StrideH=2, StrideW=2,
         FilterHeight=2, FilterWidth=2)
    b.op("SUB", [mx, b.const("k", np.array([100, -200, 300], np.int16), 3e-4, 0)], [s], "SubOptions",
         FusedActivationFunction="RELU6")
    b.op("RESHAPE", [s, b.const("shape", np.array([1, 27], np.int32))], [r])
    b.op("QUANTIZE", [x2], [x2w])
    b.op("CONCATENATION", [r, x2w], [cat], "ConcatenationOptions", Axis=1)
    b.op("QUANTIZE", [cat], [q8])
    b.op("QUANTIZE", [q8], [q16])
    b.op("DEQUANTIZE", [q16], [yf])
    return b.build([xf, x2], [yf])


def test_int16_model():
    data = int16_model()
    rng = np.random.default_rng(5)
    ins = [(rng.uniform(-3, 3, (1, 8, 8, 3)).astype(np.float32), random_input((1, 5), "int8", rng))
           for _ in range(3)]
    ins.append((np.full((1, 8, 8, 3), 100.0, np.float32), np.full((1, 5), 127, np.int8)))  # saturation
    rep = check_bit_exact(data, kernel_sets=KS, inputs=ins)
    if "c" in rep["op_kernel_sets"]:  # the compute ops on np, the byte copies on c
        sets = rep["op_kernel_sets"]["c"]
        assert set(sets) == {"np", "c"} and "c" in sets, sets
    res = pack(data, "m.tflite", kernels="viper", check_budget=False)
    sets = {op.type: op.kernel_set for op in res.graph.ops}
    assert sets.pop("PAD") == sets.pop("CONCATENATION") == "viper" and set(sets.values()) == {"ref"}, sets


def test_np_invoke_allocates_nothing():
    it = Interpreter(pack(int16_model(), "m.tflite", kernels="np").binary, kernels="np")
    assert set(it.op_kernel_sets) == {"np"}
    rng = np.random.default_rng(2)
    it.set_input(0, rng.uniform(-3, 3, (1, 8, 8, 3)).astype(np.float32))
    it.set_input(1, random_input((1, 5), "int8", rng))
    growth, peak = traced_invokes(it)
    # as tests/test_zero_alloc.py: nothing retained; the small transient peak is numpy's call
    # overhead, the same for the int8 kernels (max-pooling's reduce: ~1 KB either way)
    assert growth <= 0 and peak < 4096, (growth, peak)


def micropython_cases():
    """[(label, .tflite bytes, inputs or None)] for test_micropython's every-ref-op session (the
    int16 ref kernels on MicroPython). Inputs avoid -32768 for ADD/MUL: -32768 << 15 (and
    -32768**2) is -2**30, outside the range quant.mbqm_halves takes without a big int."""
    rng = np.random.default_rng(9)

    def no_min(shape):
        return rng.integers(-32767, 32768, shape, dtype=np.int16)
    ab = [(no_min((2, 3, 8)), no_min((3, 8))) for _ in range(2)]
    return [
        ("ADD_int16", binary_model("ADD", (2, 3, 8), (3, 8), (2, 3, 8), 1e-3, 7e-4, 2e-3, "RELU"), ab),
        ("SUB_int16", binary_model("SUB", (2, 3, 8), (3, 8), (2, 3, 8), 3e-5, 1e-3, 1.1e-3), ab),
        ("MUL_int16", binary_model("MUL", (2, 3, 8), (3, 8), (2, 3, 8), 1e-3, 1e-3, 2e-2), ab),
        ("QUANTIZE_int16_int8", unary_model("QUANTIZE", (3, 40), "int16", (1e-3, 0), "int8", (0.05, -3)), None),
        ("QUANTIZE_int8_int16", unary_model("QUANTIZE", (3, 40), "int8", (0.05, 7), "int16", (1e-3, 0)), None),
        ("QUANTIZE_int16_int16", unary_model("QUANTIZE", (3, 40), "int16", (1e-3, 0), "int16", (7.3e-4, 0)), None),
        ("QUANTIZE_float32_int16", unary_model("QUANTIZE", (40,), "float32", (), "int16", (1e-4, 0)), None),
        ("DEQUANTIZE_int16", unary_model("DEQUANTIZE", (40,), "int16", (2e-5, -300), "float32", ()), None),
        ("AVERAGE_POOL_2D_int16", pool_model("AVERAGE_POOL_2D", (1, 7, 9, 3), (3, 3), (2, 2), "SAME", "RELU"), None),
        ("MAX_POOL_2D_int16", pool_model("MAX_POOL_2D", (1, 8, 7, 5), (4, 5), (3, 2), "SAME"), None),
        ("PAD_int16", _pad_model((2, 3, 4, 2), [[1, 0], [0, 2], [3, 1], [1, 2]], -1234), None),
        ("CONCATENATION_int16", _concat_model(1, 3), None),
    ]
