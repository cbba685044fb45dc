"""Single-op conformance for the shape and data-movement ops of issue 13 (EXPAND_DIMS,
TRANSPOSE, RESIZE_NEAREST_NEIGHBOR, REDUCE_MAX, SLICE, BROADCAST_TO; MAXIMUM, MINIMUM, PACK,
UNPACK and GATHER are in test_ops_select_stack.py): sweeps over each op's parameter space,
bit-exact (0 LSB) against TFLite Micro (which has every one of these ops) on both kernel
sets; the configurations TFLite Micro rejects are rejected at pack time naming the op; for
all eleven, invoke allocates nothing (np and ref), and a chain of them runs bit-exact on
both sets and on MicroPython with the heap locked."""
import itertools

import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.interpreter import Interpreter
from edge_rt.testing.conformance import check_bit_exact, traced_invokes
from edge_rt.testing.reference import random_input
from edge_rt.testing.tflite_builder import ModelBuilder
from test_ops_select_stack import KS, Q_IN, gather_model, i32, minmax_model, pack_model, problem, t, unpack_model


def packed_ops(data, ks="ref"):
    return [op.type for op in pack(data, "m.tflite", kernels=ks, check_budget=False).graph.ops]


# -- EXPAND_DIMS ---------------------------------------------------------------------------
def expand_dims_model(shape, axis, dtype="int8", as_output=True):
    b = ModelBuilder()
    x = t(b, "x", shape, dtype)
    rank = len(shape)
    a = axis + rank + 1 if axis < 0 else axis
    y = t(b, "y", tuple(shape[:a]) + (1,) + tuple(shape[a:]), dtype)
    b.op("EXPAND_DIMS", [x, i32(b, "axis", [axis] if axis % 2 else axis)], [y])
    if as_output:
        return b.build([x], [y])
    z = t(b, "z", b.tensors[y]["shape"], dtype)  # a consumer: the EXPAND_DIMS becomes an alias
    b.op("RELU", [y], [z])
    return b.build([x], [z])


EXPAND_CASES = [((3,), 0), ((3,), 1), ((3,), -1), ((2, 5), 1), ((2, 5), -3), ((1, 4, 6), 2),
                ((2, 3, 4, 5), 4), ((2, 3, 4, 5), -2), ((2, 1, 3, 2, 2), 3)]


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
@pytest.mark.parametrize("shape,axis", EXPAND_CASES, ids=str)
def test_expand_dims(shape, axis, dtype):
    check_bit_exact(expand_dims_model(shape, axis, dtype), trials=2, kernel_sets=KS)


def test_expand_dims_aliases_inside_the_graph():
    data = expand_dims_model((2, 3, 4), 1, as_output=False)
    assert packed_ops(data) == ["RELU"]
    check_bit_exact(data, trials=3, kernel_sets=KS)


def test_expand_dims_rejects_bad_axis_and_int32():
    b = ModelBuilder()
    x = t(b, "x", (2, 3))
    y = t(b, "y", (2, 3, 1))
    b.op("EXPAND_DIMS", [x, i32(b, "axis", [5])], [y])
    msg = problem(b.build([x], [y]))
    assert "EXPAND_DIMS" in msg and "axis 5 out of range" in msg
    # TFLite Micro's EXPAND_DIMS takes int8, int16 and float32 only
    assert "supported: int8, int16, float32" in problem(expand_dims_model((2, 3), 1, "int32"))


# -- zero allocation: every new op, numpy and pure-Python kernels ---------------------------
ALLOC_CASES = ["EXPAND_DIMS", "TRANSPOSE", "TRANSPOSE_float32", "RESIZE_NEAREST_NEIGHBOR",
               "RESIZE_NEAREST_NEIGHBOR_float32", "REDUCE_MAX", "REDUCE_MAX_float32",
               "MAXIMUM", "MINIMUM_float32", "MINIMUM_int32", "SLICE", "SLICE_int16",
               "PACK", "PACK_float32", "UNPACK", "UNPACK_int32",
               "GATHER", "GATHER_batch_float32", "BROADCAST_TO", "BROADCAST_TO_int16"]


def _alloc_models():
    return {
        "EXPAND_DIMS": expand_dims_model((2, 3, 4), 1),
        "TRANSPOSE": transpose_model((1, 4, 5, 3), (0, 3, 1, 2)),
        "TRANSPOSE_float32": transpose_model((2, 3, 4), (2, 0, 1), "float32"),
        "RESIZE_NEAREST_NEIGHBOR": resize_model((1, 4, 5, 3), (8, 10)),
        "RESIZE_NEAREST_NEIGHBOR_float32": resize_model((1, 3, 4, 2), (7, 9), True, True, "float32"),
        "REDUCE_MAX": reduce_max_model((1, 6, 5, 4), [1, 2], True),
        "REDUCE_MAX_float32": reduce_max_model((2, 4, 3, 5), [3, 1], False, "float32"),
        "MAXIMUM": minmax_model("MAXIMUM", (2, 1, 3, 1), (1, 4, 1, 5), (2, 4, 3, 5)),
        "MINIMUM_float32": minmax_model("MINIMUM", (2, 4, 3, 5), (1, 1, 1, 5), (2, 4, 3, 5), "float32"),
        "MINIMUM_int32": minmax_model("MINIMUM", (3, 5), (3, 5), (3, 5), "int32"),
        "SLICE": slice_model((1, 8, 8, 3), [0, 2, 3, 0], [1, 4, 4, 3]),
        "SLICE_int16": slice_model((2, 5, 7), [1, 1, 2], [1, 3, 4], "int16"),
        "PACK": pack_model((1, 4, 4, 3), 3, 3),
        "PACK_float32": pack_model((2, 3, 4), 2, -2, "float32"),
        "UNPACK": unpack_model((2, 3, 4), 1),
        "UNPACK_int32": unpack_model((1, 4, 3, 2), 3, "int32"),
        "GATHER": gather_model((5, 4), (2, 3), 1)[0],
        "GATHER_batch_float32": gather_model((3, 6, 2), (3, 4), 1, 1, "float32")[0],
        "BROADCAST_TO": broadcast_to_model((1, 1, 1, 4), (1, 5, 5, 4)),
        "BROADCAST_TO_int16": broadcast_to_model((2, 1, 3), (2, 4, 3), "int16"),
    }


@pytest.mark.parametrize("ks", KS)
@pytest.mark.parametrize("name", ALLOC_CASES)
def test_invoke_allocates_nothing(name, ks):
    data = _alloc_models()[name]
    it = Interpreter(pack(data, "m.tflite", kernels=ks, check_budget=False).binary, kernels=ks)
    assert set(it.op_kernel_sets) == {ks}
    rng = np.random.default_rng(0)
    for i, d in enumerate(it.input_details()):
        it.set_input(i, random_input(d["shape"], d["dtype"], rng))
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < 4096, f"{name} on {ks}: {growth} B retained, peak {peak} B"


# -- TRANSPOSE -----------------------------------------------------------------------------
def transpose_model(shape, perm, dtype="int8"):
    b = ModelBuilder()
    x = t(b, "x", shape, dtype)
    y = t(b, "y", tuple(shape[p] for p in perm), dtype)
    b.op("TRANSPOSE", [x, i32(b, "perm", perm)], [y])
    return b.build([x], [y])


TRANSPOSE_CASES = [((5,), (0,)), ((3, 7), (1, 0)), ((2, 3, 4), (0, 2, 1)), ((2, 3, 4), (2, 0, 1)),
                   ((2, 3, 4), (1, 2, 0)), ((1, 4, 5, 3), (0, 3, 1, 2)), ((1, 4, 5, 3), (0, 2, 3, 1)),
                   ((2, 3, 4, 5), (3, 2, 1, 0)), ((2, 1, 3, 1, 4), (4, 3, 2, 1, 0)),
                   ((2, 3, 2, 3, 2), (4, 0, 3, 1, 2)), ((3, 4, 5), (0, 1, 2)),
                   ((1, 6, 1, 4), (2, 0, 3, 1))]


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
@pytest.mark.parametrize("shape,perm", TRANSPOSE_CASES, ids=str)
def test_transpose(shape, perm, dtype):
    check_bit_exact(transpose_model(shape, perm, dtype), trials=2, kernel_sets=KS)


def test_transpose_rejects_bad_perm():
    b = ModelBuilder()
    x = t(b, "x", (2, 3, 4))
    y = t(b, "y", (2, 3, 4))
    b.op("TRANSPOSE", [x, i32(b, "perm", [0, 1, 1])], [y])
    assert "TRANSPOSE" in problem(b.build([x], [y])) and "not a permutation" in problem(b.build([x], [y]))
    # TFLite Micro's TRANSPOSE takes int8, int16 and float32 only
    assert "supported: int8, int16, float32" in problem(transpose_model((2, 3), (1, 0), "int32"))
    assert "supported: up to 5" in problem(transpose_model((2, 1, 2, 1, 2, 3), (5, 4, 3, 2, 1, 0)))


# -- RESIZE_NEAREST_NEIGHBOR ---------------------------------------------------------------
def resize_model(shape, size, align_corners=False, half_pixel=False, dtype="int8"):
    b = ModelBuilder()
    x = t(b, "x", shape, dtype)
    y = t(b, "y", (shape[0], size[0], size[1], shape[3]), dtype)
    b.op("RESIZE_NEAREST_NEIGHBOR", [x, i32(b, "size", size)], [y], "ResizeNearestNeighborOptions",
         AlignCorners=align_corners, HalfPixelCenters=half_pixel)
    return b.build([x], [y])


RESIZE_SIZES = [((1, 4, 5, 3), (8, 10)), ((1, 4, 5, 3), (2, 3)), ((2, 3, 3, 2), (7, 5)),
                ((1, 5, 7, 1), (5, 7)), ((1, 1, 1, 4), (3, 2)), ((1, 6, 4, 2), (1, 1)),
                ((1, 7, 3, 3), (12, 9)), ((1, 9, 9, 2), (4, 13))]


@pytest.mark.parametrize("align_corners,half_pixel", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("shape,size", RESIZE_SIZES, ids=str)
def test_resize_nearest_neighbor(shape, size, align_corners, half_pixel):
    check_bit_exact(resize_model(shape, size, align_corners, half_pixel), trials=2, kernel_sets=KS)


@pytest.mark.parametrize("dtype", ["int16", "float32"])
def test_resize_nearest_neighbor_other_dtypes(dtype):
    check_bit_exact(resize_model((1, 3, 4, 2), (7, 9), True, True, dtype), trials=2, kernel_sets=KS)


def test_resize_nearest_neighbor_size_sweep_bit_exact():
    # every (in, out) pair up to 9 -> 17 in one axis, all four option pairs, against the oracle
    for n_in, n_out in [(1, 3), (2, 17), (3, 16), (5, 9), (7, 13), (9, 4), (6, 11), (4, 15)]:
        for ac, hp in itertools.product((False, True), repeat=2):
            check_bit_exact(resize_model((1, n_in, 2, 1), (n_out, 3), ac, hp), trials=1, kernel_sets=KS)


def test_resize_nearest_neighbor_rejects_dynamic_size():
    b = ModelBuilder()
    x = t(b, "x", (1, 2, 2, 1))
    s = b.tensor("size", (2,), "int32")
    y = t(b, "y", (1, 4, 4, 1))
    b.op("RESIZE_NEAREST_NEIGHBOR", [x, s], [y], "ResizeNearestNeighborOptions")
    msg = problem(b.build([x, s], [y]))
    assert "RESIZE_NEAREST_NEIGHBOR" in msg and "size" in msg and "constant" in msg


# -- REDUCE_MAX ----------------------------------------------------------------------------
def reduce_max_model(shape, axes, keep, dtype="int8", q_out=Q_IN):
    b = ModelBuilder()
    x = t(b, "x", shape, dtype)
    red = {a % len(shape) for a in axes}
    out = [1 if d in red else n for d, n in enumerate(shape)] if keep else [n for d, n in enumerate(shape) if d not in red]
    y = t(b, "y", out, dtype, q_out)
    b.op("REDUCE_MAX", [x, i32(b, "axes", axes)], [y], "ReducerOptions", KeepDims=keep)
    return b.build([x], [y])


REDUCE_CASES = [((7,), [0]), ((3, 5), [1]), ((3, 5), [0]), ((3, 5), [0, 1]), ((2, 3, 4), [1]),
                ((2, 3, 4), [-1]), ((2, 3, 4), [0, 2]), ((1, 6, 5, 4), [1, 2]), ((2, 4, 3, 5), [3, 1]),
                ((2, 4, 3, 5), [0, 1, 2, 3]), ((2, 4, 3, 5), [1, 1, -3]), ((2, 1, 3, 2, 3), [4, 0]),
                ((2, 2, 3, 1, 2, 3), [2, 5])]


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("shape,axes", REDUCE_CASES, ids=str)
def test_reduce_max(shape, axes, keep):
    check_bit_exact(reduce_max_model(shape, axes, keep), trials=3, kernel_sets=KS)


@pytest.mark.parametrize("shape,axes", REDUCE_CASES[::3], ids=str)
def test_reduce_max_float32(shape, axes):
    check_bit_exact(reduce_max_model(shape, axes, True, "float32"), trials=2, kernel_sets=KS)


def test_reduce_max_rejects_requantization_and_int16():
    msg = problem(reduce_max_model((2, 3, 4), [1], False, q_out=(0.1, 2)))
    assert "REDUCE_MAX" in msg and "quantization must be equal" in msg
    assert "supported: int8, float32" in problem(reduce_max_model((2, 3, 4), [1], False, "int16"))


# -- SLICE ---------------------------------------------------------------------------------
def slice_model(shape, begin, size, dtype="int8"):
    b = ModelBuilder()
    x = t(b, "x", shape, dtype)
    out = [n - bg if s == -1 else s for n, bg, s in zip(shape, begin, size)]
    y = t(b, "y", out, dtype)
    b.op("SLICE", [x, i32(b, "begin", begin), i32(b, "size", size)], [y])
    return b.build([x], [y])


SLICE_CASES = [((9,), [2], [5]), ((9,), [0], [-1]), ((4, 6), [1, 2], [2, 3]), ((4, 6), [0, 0], [4, 6]),
               ((4, 6), [3, 0], [1, -1]), ((2, 5, 7), [1, 1, 2], [1, 3, 4]), ((2, 5, 7), [0, 4, 0], [-1, 1, -1]),
               ((1, 8, 8, 3), [0, 2, 3, 0], [1, 4, 4, 3]), ((1, 8, 8, 3), [0, 0, 0, 1], [-1, -1, -1, 1]),
               ((2, 3, 4, 5, 2), [1, 0, 2, 1, 0], [1, 3, 2, 3, 1]), ((3, 4), [1, 2], [0, 2])]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("shape,begin,size", SLICE_CASES, ids=str)
def test_slice(shape, begin, size, dtype):
    if 0 in size:  # an empty slice: TFLite Micro has nothing to compare; edge_rt runs it
        for ks in KS:
            it = Interpreter(pack(slice_model(shape, begin, size, dtype), "m.tflite", kernels=ks).binary)
            it.invoke()
            assert it.get_output(0).shape == tuple(size)
        return
    check_bit_exact(slice_model(shape, begin, size, dtype), trials=2, kernel_sets=KS)


def test_slice_rejects_out_of_range():
    msg = problem(slice_model((4, 6), [1, 4], [2, 3]))
    assert "SLICE" in msg and "axis 1: begin 4 size 3 outside" in msg


# -- BROADCAST_TO --------------------------------------------------------------------------
def broadcast_to_model(shape, to, dtype="int8"):
    b = ModelBuilder()
    x = t(b, "x", shape, dtype)
    y = t(b, "y", to, dtype)
    b.op("BROADCAST_TO", [x, i32(b, "shape", to)], [y])
    return b.build([x], [y])


BROADCAST_TO_CASES = [((1,), (5,)), ((3,), (4, 3)), ((4, 1), (4, 6)), ((1, 3), (5, 3)), ((2, 1, 3), (2, 4, 3)),
                      ((1, 1, 1, 4), (1, 5, 5, 4)), ((5, 1), (2, 3, 5, 4)), ((), (2, 3)), ((2, 3), (2, 3)),
                      ((1, 2, 1, 3, 1), (2, 2, 3, 3, 2))]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("shape,to", BROADCAST_TO_CASES, ids=str)
def test_broadcast_to(shape, to, dtype):
    check_bit_exact(broadcast_to_model(shape, to, dtype), trials=2, kernel_sets=KS)


def test_broadcast_to_rejects_non_broadcast():
    msg = problem(broadcast_to_model((2, 3), (4, 3)))
    assert "BROADCAST_TO" in msg and "does not broadcast" in msg


# -- all of them in one graph: on both kernel sets and on MicroPython with the heap locked ----
def chain_model():
    """x -> TRANSPOSE -> RESIZE_NEAREST_NEIGHBOR -> SLICE -> MAXIMUM(const) -> REDUCE_MAX ->
    EXPAND_DIMS -> UNPACK -> PACK (reversed) -> GATHER -> MINIMUM(const) -> BROADCAST_TO."""
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = t(b, "x", (1, 4, 5, 3))
    a = t(b, "a", (1, 5, 4, 3))
    b.op("TRANSPOSE", [x, i32(b, "perm", [0, 2, 1, 3])], [a])
    r = t(b, "r", (1, 7, 6, 3))
    b.op("RESIZE_NEAREST_NEIGHBOR", [a, i32(b, "size", [7, 6])], [r], "ResizeNearestNeighborOptions",
         HalfPixelCenters=True)
    s = t(b, "s", (1, 5, 4, 3))
    b.op("SLICE", [r, i32(b, "begin", [0, 1, 1, 0]), i32(b, "sz", [1, 5, 4, 3])], [s])
    mx = t(b, "mx", (1, 5, 4, 3))
    b.op("MAXIMUM", [s, b.const("floor", rng.integers(-60, 0, 3, dtype=np.int8), *Q_IN)], [mx])
    red = t(b, "red", (1, 5, 3))
    b.op("REDUCE_MAX", [mx, i32(b, "axes", [2])], [red], "ReducerOptions", KeepDims=False)
    e = t(b, "e", (1, 1, 5, 3))
    b.op("EXPAND_DIMS", [red, i32(b, "axis", 1)], [e])
    parts = [t(b, f"u{k}", (1, 1, 3)) for k in range(5)]
    b.op("UNPACK", [e], parts, "UnpackOptions", Num=5, Axis=2)
    p = t(b, "p", (1, 5, 1, 3))
    b.op("PACK", parts[::-1], [p], "PackOptions", ValuesCount=5, Axis=1)
    gth = t(b, "g", (1, 3, 1, 3))
    b.op("GATHER", [p, i32(b, "idx", [4, 0, 2])], [gth], "GatherOptions", Axis=1)
    mn = t(b, "mn", (1, 3, 1, 3))
    b.op("MINIMUM", [gth, b.const("ceil", rng.integers(0, 90, (1, 3, 1, 1), dtype=np.int8), *Q_IN)], [mn])
    y = t(b, "y", (2, 3, 4, 3))
    b.op("BROADCAST_TO", [mn, i32(b, "to", [2, 3, 4, 3])], [y])
    return b.build([x], [y])


def test_chain_bit_exact():
    data = chain_model()
    r = check_bit_exact(data, trials=4, kernel_sets=KS)
    assert r["ops"] == 10 and "EXPAND_DIMS" not in packed_ops(data)  # EXPAND_DIMS became an alias


def test_chain_on_micropython_heap_locked():
    from edge_rt.testing import micropython as MP
    from edge_rt.testing.reference import TFLM
    why = MP.unavailable()
    if why is not None:
        pytest.skip(str(why))
    data = chain_model()
    binary = pack(data, "chain.tflite", kernels="ref", check_budget=False).binary
    rng = np.random.default_rng(3)
    xs = [random_input((1, 4, 5, 3), "int8", rng) for _ in range(2)]
    res = MP.run_model(binary, [[x.tobytes()] for x in xs], timeout=120)
    ref = TFLM(data)
    for k, x in enumerate(xs):
        want = ref(x)[0]
        got = np.frombuffer(res.outputs[k][0], np.int8).reshape(want.shape)
        assert np.array_equal(got, want), f"inference {k}: differs from TFLite Micro on MicroPython"


def micropython_cases():
    """[(label, .tflite bytes, inputs or None)] for test_micropython's every-ref-op session:
    one int8 model per new op (int16 where the kernel copies bytes), run with the heap locked."""
    return [("EXPAND_DIMS", expand_dims_model((2, 3, 4), -1), None),
            ("TRANSPOSE", transpose_model((2, 3, 4, 5), (3, 1, 0, 2)), None),
            ("TRANSPOSE_int16", transpose_model((3, 4, 2), (2, 0, 1), "int16"), None),
            ("RESIZE_NEAREST_NEIGHBOR", resize_model((1, 3, 4, 2), (7, 9), True, True), None),
            ("REDUCE_MAX", reduce_max_model((2, 4, 3, 5), [3, 1], False), None),
            ("MAXIMUM", minmax_model("MAXIMUM", (2, 1, 3, 1), (1, 4, 1, 5), (2, 4, 3, 5)), None),
            ("MINIMUM", minmax_model("MINIMUM", (1, 5, 5, 4), (4,), (1, 5, 5, 4), const_b=True), None),
            ("SLICE", slice_model((2, 5, 7), [1, 1, 2], [1, 3, 4]), None),
            ("PACK", pack_model((2, 3, 4), 3, -2), None),
            ("UNPACK", unpack_model((2, 3, 4), 1), None),
            ("GATHER", gather_model((3, 6, 2), (3, 4), 1, 1)[0], None),
            ("BROADCAST_TO", broadcast_to_model((1, 2, 1, 3, 1), (2, 2, 3, 3, 2)), None)]


# -- the patterns converters emit around these ops -----------------------------------------
def conv1d_upsample_model():
    """Keras Conv1D lowering (EXPAND_DIMS -> CONV_2D -> SQUEEZE), then an FPN-style upsample
    (RESIZE_NEAREST_NEIGHBOR x2 -> CONCATENATION with a skip), a TRANSPOSE to channels-first
    and a global REDUCE_MAX head."""
    from test_synthetic_models import Net
    net = Net(9)
    b = net.b
    x = net.act((1, 16, 6), 0.04, 2)
    e = net.act((1, 1, 16, 6), 0.04, 2)
    b.op("EXPAND_DIMS", [x, i32(b, "axis", 1)], [e])
    c = net.conv(e, 8, k=1)                     # (1, 1, 16, 8)
    d = net.dw(c, stride=2)                     # (1, 1, 8, 8)
    s, z = net.qp(d)
    up = net.act((1, 2, 16, 8), s, z)
    b.op("RESIZE_NEAREST_NEIGHBOR", [d, i32(b, "size", [2, 16])], [up], "ResizeNearestNeighborOptions")
    skip = net.act((1, 2, 16, 8), s, z)
    b.op("BROADCAST_TO", [c, i32(b, "to", [1, 2, 16, 8])], [skip])  # c's grid differs: raw copy
    cat = net.act((1, 2, 16, 16), s, z)
    b.op("CONCATENATION", [up, skip], [cat], "ConcatenationOptions", Axis=3)
    tr = net.act((1, 16, 2, 16), s, z)
    b.op("TRANSPOSE", [cat, i32(b, "perm", [0, 3, 1, 2])], [tr])
    y = net.act((1, 16), s, z)
    b.op("REDUCE_MAX", [tr, i32(b, "axes", [2, 3])], [y], "ReducerOptions", KeepDims=False)
    return b.build([x], [y])


def test_converter_patterns_bit_exact():
    data = conv1d_upsample_model()
    r = check_bit_exact(data, trials=4)
    assert "EXPAND_DIMS" not in packed_ops(data, "np") and r["ops"] >= 6
