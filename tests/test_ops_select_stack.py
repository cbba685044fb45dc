"""Single-op conformance for the select and stacking ops of issue 13 (MAXIMUM, MINIMUM, PACK,
UNPACK, GATHER): sweeps over each op's parameter space, bit-exact (0 LSB) against TFLite Micro
(which has every one of these ops) on both kernel sets; the configurations TFLite Micro
rejects are rejected at pack time naming the op. Zero allocation, a chain of all the new ops
and the MicroPython cases: tests/test_ops_shape_more.py."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.reference import random_input
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref")
Q_IN = (0.05, -3)


def t(b, name, shape, dtype="int8", q=Q_IN):
    if dtype in ("int8", "int16"):
        return b.tensor(name, shape, dtype, scale=q[0], zero_point=q[1] if dtype == "int8" else 0)
    return b.tensor(name, shape, dtype)


def i32(b, name, values):
    return b.const(name, np.array(values, np.int32))


def problem(data):
    with pytest.raises(UnsupportedModelError) as e:
        pack(data, "bad.tflite", kernels="np")
    return str(e.value)


# -- MAXIMUM / MINIMUM ---------------------------------------------------------------------
def minmax_model(op, sa, sb, so, dtype="int8", qs=(Q_IN, Q_IN, Q_IN), const_b=False):
    b = ModelBuilder()
    x1 = t(b, "a", sa, dtype, qs[0])
    if const_b:
        rng = np.random.default_rng(1)
        x2 = b.const("b", random_input(sb, dtype, rng), *(qs[1] if dtype == "int8" else (None, None)))
    else:
        x2 = t(b, "b", sb, dtype, qs[1])
    y = t(b, "y", so, dtype, qs[2])
    b.op(op, [x1, x2], [y])
    return b.build([x1] if const_b else [x1, x2], [y])


MINMAX_SHAPES = [((3, 5, 7), (3, 5, 7), (3, 5, 7)), ((1, 4, 5, 3), (1,), (1, 4, 5, 3)),
                 ((1,), (2, 3, 5), (2, 3, 5)), ((2, 4, 3, 5), (1, 1, 1, 5), (2, 4, 3, 5)),
                 ((2, 1, 3, 1), (1, 4, 1, 5), (2, 4, 3, 5)), ((7, 1), (1, 9), (7, 9)),
                 ((1, 2, 1, 3, 1, 2), (2, 1, 3, 1, 4, 1), (2, 2, 3, 3, 4, 2)), ((), (3, 4), (3, 4))]


@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("shapes", MINMAX_SHAPES, ids=str)
def test_maximum_minimum(op, dtype, shapes):
    check_bit_exact(minmax_model(op, *shapes, dtype), trials=2, kernel_sets=KS)


@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
def test_maximum_minimum_raw_values_and_constants(op):
    # unequal quantization: TFLite Micro compares and copies the raw int8 values
    qs = ((0.05, -3), (0.1, 7), (0.02, 0))
    check_bit_exact(minmax_model(op, (2, 4, 3), (4, 1), (2, 4, 3), qs=qs), trials=3, kernel_sets=KS)
    check_bit_exact(minmax_model(op, (1, 5, 5, 4), (4,), (1, 5, 5, 4), const_b=True), trials=3, kernel_sets=KS)


@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
def test_maximum_minimum_float_ties_and_signed_zeros(op):
    # TFLite's ternary keeps b on ties: -0.0 vs 0.0 tells it apart from np.maximum
    a = np.array([0.0, -0.0, 1.5, -2.0, 3.0, -0.0], np.float32)
    b_ = np.array([-0.0, 0.0, 1.5, -2.0, -3.0, -0.0], np.float32)
    data = minmax_model(op, (6,), (6,), (6,), "float32")
    check_bit_exact(data, kernel_sets=KS, inputs=[(a, b_), (b_, a)])
    from edge_rt.testing.reference import TFLM
    want = TFLM(data)(a, b_)[0]
    it = Interpreter(pack(data, "m.tflite", kernels="np", check_budget=False).binary, kernels="np")
    it.set_input(0, a)
    it.set_input(1, b_)
    it.invoke()
    assert np.signbit(it.get_output(0)).tolist() == np.signbit(want).tolist()


def test_maximum_rejects_mixed_dtypes_and_bad_broadcast():
    b = ModelBuilder()
    x1 = t(b, "a", (2, 3))
    x2 = t(b, "b", (2, 3), "int16")
    y = t(b, "y", (2, 3))
    b.op("MAXIMUM", [x1, x2], [y])
    assert "MAXIMUM" in problem(b.build([x1, x2], [y]))
    assert "do not broadcast" in problem(minmax_model("MINIMUM", (2, 3), (4, 3), (2, 3)))


# -- PACK / UNPACK -------------------------------------------------------------------------
def pack_model(shape, n, axis, dtype="int8"):
    b = ModelBuilder()
    xs = [t(b, f"x{k}", shape, dtype) for k in range(n)]
    rank = len(shape) + 1
    a = axis + rank if axis < 0 else axis
    y = t(b, "y", tuple(shape[:a]) + (n,) + tuple(shape[a:]), dtype)
    b.op("PACK", xs, [y], "PackOptions", ValuesCount=n, Axis=axis)
    return b.build(xs, [y])


def unpack_model(shape, axis, dtype="int8"):
    b = ModelBuilder()
    x = t(b, "x", shape, dtype)
    a = axis + len(shape) if axis < 0 else axis
    out = tuple(shape[:a]) + tuple(shape[a + 1:])
    ys = [t(b, f"y{k}", out, dtype) for k in range(shape[a])]
    b.op("UNPACK", [x], ys, "UnpackOptions", Num=shape[a], Axis=axis)
    return b.build([x], ys)


PACK_CASES = [((5,), 3, 0), ((5,), 2, 1), ((5,), 4, -1), ((2, 3), 3, 0), ((2, 3), 2, 1), ((2, 3), 4, 2),
              ((2, 3, 4), 2, -2), ((1, 4, 4, 3), 3, 3), ((1, 4, 4, 3), 2, 0), ((3, 1, 2), 1, 1)]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("shape,n,axis", PACK_CASES, ids=str)
def test_pack(shape, n, axis, dtype):
    check_bit_exact(pack_model(shape, n, axis, dtype), trials=2, kernel_sets=KS)


UNPACK_CASES = [((4,), 0), ((3, 5), 0), ((3, 5), 1), ((3, 5), -1), ((2, 3, 4), 1), ((2, 3, 4), 2),
                ((1, 4, 3, 2), 3), ((2, 4, 3, 2), 0), ((1, 3), 1), ((2, 1, 3, 2, 2), 2)]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("shape,axis", UNPACK_CASES, ids=str)
def test_unpack(shape, axis, dtype):
    check_bit_exact(unpack_model(shape, axis, dtype), trials=2, kernel_sets=KS)


def test_pack_unpack_reject_mismatches():
    b = ModelBuilder()
    x0, x1 = t(b, "x0", (2, 3)), t(b, "x1", (3, 2))
    y = t(b, "y", (2, 2, 3))
    b.op("PACK", [x0, x1], [y], "PackOptions", ValuesCount=2, Axis=0)
    msg = problem(b.build([x0, x1], [y]))
    assert "PACK" in msg and "input 1 shape (3, 2) != input 0 shape (2, 3)" in msg
    b = ModelBuilder()
    x = t(b, "x", (3, 2))
    ys = [t(b, f"y{k}", (2,)) for k in range(2)]
    b.op("UNPACK", [x], ys, "UnpackOptions", Num=2, Axis=0)
    assert "UNPACK" in problem(b.build([x], ys))


# -- GATHER --------------------------------------------------------------------------------
def gather_model(shape, ishape, axis, batch_dims=0, dtype="int8", const=True, seed=0):
    rng = np.random.default_rng(seed)
    a = axis + len(shape) if axis < 0 else axis
    bd = batch_dims + len(ishape) if batch_dims < 0 else batch_dims
    values = rng.integers(0, shape[a], ishape).astype(np.int32)
    b = ModelBuilder()
    x = t(b, "x", shape, dtype)
    ind = b.const("indices", values) if const else b.tensor("indices", ishape, "int32")
    y = t(b, "y", tuple(shape[:a]) + tuple(ishape[bd:]) + tuple(shape[a + 1:]), dtype)
    b.op("GATHER", [x, ind], [y], "GatherOptions", Axis=axis, BatchDims=batch_dims)
    return b.build([x] if const else [x, ind], [y]), values


GATHER_CASES = [((7,), (3,), 0, 0), ((7,), (), 0, 0), ((5, 4), (6,), 0, 0), ((5, 4), (2, 3), 1, 0),
                ((5, 4), (4,), -1, 0), ((2, 5, 3), (4,), 1, 0), ((2, 5, 3), (2, 2), 2, 0),
                ((1, 10, 8), (1, 3), 1, 1), ((3, 6, 2), (3, 4), 1, 1), ((2, 3, 4, 5), (2, 3, 2), 2, 2),
                ((2, 3, 4, 5), (2, 6), 3, 1), ((4, 3), (5, 2), 0, 0)]


@pytest.mark.parametrize("const", [True, False], ids=["const", "input"])
@pytest.mark.parametrize("shape,ishape,axis,bd", GATHER_CASES, ids=str)
def test_gather(shape, ishape, axis, bd, const):
    for seed in range(2):
        data, values = gather_model(shape, ishape, axis, bd, const=const, seed=seed)
        rng = np.random.default_rng(seed)
        xs = [(random_input(shape, "int8", rng),) + (() if const else (values,)) for _ in range(2)]
        check_bit_exact(data, kernel_sets=KS, inputs=xs)


@pytest.mark.parametrize("dtype", ["float32"])
def test_gather_other_dtypes(dtype):
    data, _ = gather_model((3, 6, 2), (3, 4), 1, 1, dtype)
    check_bit_exact(data, trials=2, kernel_sets=KS)


@pytest.mark.parametrize("dtype", ["int16", "int32"])
def test_gather_rejects_int16_int32(dtype):  # TFLite Micro: "Type 'INT16' is not supported by gather"
    assert "supported: int8, float32" in problem(gather_model((3, 6), (2,), 1, 0, dtype)[0])


@pytest.mark.parametrize("ks", KS)
def test_gather_index_out_of_range_fails_the_invoke(ks):
    from edge_rt.errors import InputError
    from edge_rt.testing.reference import TFLM
    data, values = gather_model((5, 4), (6,), 0, const=False)
    bad = values.copy()
    bad[3] = 5
    with pytest.raises(RuntimeError):  # TFLite Micro fails the invoke too
        TFLM(data)(np.zeros((5, 4), np.int8), bad)
    it = Interpreter(pack(data, "m.tflite", kernels=ks).binary)
    it.set_input(0, np.zeros((5, 4), np.int8))
    it.set_input(1, bad)
    with pytest.raises(InputError, match=r"GATHER\): index 5 out of range \[0, 5\)"):
        it.invoke()


def test_gather_rejects_constant_index_out_of_range():
    b = ModelBuilder()
    x = t(b, "x", (5, 4))
    y = t(b, "y", (2, 4))
    b.op("GATHER", [x, i32(b, "indices", [1, 7])], [y], "GatherOptions", Axis=0)
    msg = problem(b.build([x], [y]))
    assert "GATHER" in msg and "index 7 out of range [0, 5)" in msg
