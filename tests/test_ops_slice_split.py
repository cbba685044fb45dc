"""STRIDED_SLICE, SPLIT, SPLIT_V: single-op models over their parameter space (ranks 1-4,
negative and out-of-range indices, negative strides, begin/end/shrink masks; equal and sized
splits on every axis, negative axes, -1 sizes; int8, int16, int32, float32), bit-exact against
TFLite Micro on every kernel set (c when built: every op on the C kernels), np invoke
allocation-free; refused configurations name the op."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.testing.c_set import C_BUILT
from edge_rt.testing.conformance import check_bit_exact as _check_bit_exact, traced_invokes
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("c", "np", "ref") if C_BUILT else ("np", "ref")


def check_bit_exact(data, **kw):
    """The reference comparison with the C set's file required to run every op in C."""
    return _check_bit_exact(data, all_c=True, **kw)
Q = {"int8": (0.05, -3), "int16": (0.01, 0), "int32": (None, None), "float32": (None, None)}


def numpy_shape(shape, begin, end, strides, bm, em, sm):
    """The output shape by numpy's slicing rules (independent of the packer's index logic)."""
    index = []
    for a in range(len(shape)):
        if sm >> a & 1:
            index.append(int(begin[a]))
            continue
        index.append(slice(None if bm >> a & 1 else int(begin[a]), None if em >> a & 1 else int(end[a]),
                           int(strides[a])))
    return np.empty(shape)[tuple(index)].shape


def slice_model(shape, begin, end, strides, dtype="int8", bm=0, em=0, sm=0, out_shape=None, **extra):
    b = ModelBuilder()
    x = b.tensor("x", shape, dtype, *Q[dtype])
    if out_shape is None:
        out_shape = numpy_shape(shape, begin, end, strides, bm, em, sm)
    y = b.tensor("y", out_shape, dtype, *Q[dtype])
    ins = [b.const(n, np.asarray(v, np.int32)) for n, v in (("begin", begin), ("end", end), ("strides", strides))]
    b.op("STRIDED_SLICE", [x] + ins, [y], "StridedSliceOptions", BeginMask=bm, EndMask=em,
         ShrinkAxisMask=sm, **extra)
    return b.build([x], [y])


def random_slice(rng, rank):
    shape = tuple(int(d) for d in rng.integers(1, 7, rank))
    begin, end, strides = [], [], []
    for d in shape:
        st = int(rng.choice([1, 1, 2, 3, -1, -2]))
        begin.append(int(rng.integers(-d - 2, d + 2)))
        end.append(int(rng.integers(-d - 2, d + 2)))
        strides.append(st)
    bm, em = int(rng.integers(0, 1 << rank)), int(rng.integers(0, 1 << rank))
    sm = 0
    for a, d in enumerate(shape):  # shrink only where begin names an element
        if rng.random() < 0.25 and -d <= begin[a] < d and strides[a] > 0:
            sm |= 1 << a
            bm &= ~(1 << a)
    return shape, begin, end, strides, bm, em, sm


@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_strided_slice_random_sweep(rank, dtype):
    rng = np.random.default_rng(rank)
    done = 0
    for _ in range(150):
        shape, begin, end, strides, bm, em, sm = random_slice(rng, rank)
        if 0 in numpy_shape(shape, begin, end, strides, bm, em, sm):
            continue  # an empty slice: nothing to compare
        check_bit_exact(slice_model(shape, begin, end, strides, dtype, bm=bm, em=em, sm=sm), trials=1,
                        kernel_sets=KS)
        done += 1
    assert done >= 25


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
def test_strided_slice_dtypes(dtype):
    check_bit_exact(slice_model((2, 5, 4, 3), [0, 4, 1, 0], [2, 0, 4, 3], [1, -2, 2, 1], dtype), trials=2,
                    kernel_sets=KS)


def test_strided_slice_streaming_shapes():
    # the micro-wake-word pattern: drop the oldest frames of a (1, T, 1, C) buffer
    check_bit_exact(slice_model((1, 11, 1, 64), [0, 1, 0, 0], [1, 11, 1, 64], [1, 1, 1, 1], bm=15, em=15),
                    trials=2, kernel_sets=KS)
    check_bit_exact(slice_model((1, 5, 1, 40), [0, -2, 0, 0], [1, 5, 1, 40], [1, 1, 1, 1], bm=13, em=15),
                    trials=2, kernel_sets=KS)
    check_bit_exact(slice_model((4, 6), [-1, 0], [0, 6], [1, 1], sm=1), trials=2, kernel_sets=KS)


def test_strided_slice_refusals():
    cases = [(slice_model((4, 6), [0, 0], [4, 6], [1, 1], EllipsisMask=1, out_shape=(4, 6)), "ellipsis_mask"),
             (slice_model((4, 6), [0, 0], [4, 6], [1, 1], NewAxisMask=2, out_shape=(4, 6)), "new_axis_mask"),
             (slice_model((4, 6), [1, 0], [2, 6], [1, 1], Offset=True, out_shape=(2, 6)), "offset"),
             (slice_model((4, 6), [0, 0], [4, 6], [1, 0], out_shape=(4, 6)), "stride of 0"),
             (slice_model((4, 6), [0, 0], [4, 6], [1, 1], out_shape=(4, 5)), "output tensor has"),
             (slice_model((4, 6), [4, 0], [5, 6], [1, 1], sm=1, out_shape=(6,)), "shrink_axis"),
             (slice_model((4, 6), [2, 0], [1, 6], [-1, 1], sm=1, out_shape=(6,)), "TFLite Micro writes no element")]
    for data, words in cases:
        with pytest.raises(UnsupportedModelError) as e:
            pack(data, "s.tflite", check_budget=False)
        assert "(STRIDED_SLICE)" in str(e.value) and words in str(e.value), str(e.value)


def split_model(shape, axis, n, dtype="int8", sizes=None):
    b = ModelBuilder()
    x = b.tensor("x", shape, dtype, *Q[dtype])
    rank = len(shape)
    a = axis + rank if axis < 0 else axis
    parts = sizes if sizes is not None else [shape[a] // n] * n
    real = list(parts)
    if -1 in real:
        real[real.index(-1)] = shape[a] - sum(p for p in real if p >= 0)
    ys = [b.tensor(f"y{i}", shape[:a] + (p,) + shape[a + 1:], dtype, *Q[dtype]) for i, p in enumerate(real)]
    ax = b.const("axis", np.array([axis], np.int32))
    if sizes is None:
        b.op("SPLIT", [ax, x], ys, "SplitOptions", NumSplits=n)
    else:
        sz = b.const("sizes", np.array(sizes, np.int32))
        b.op("SPLIT_V", [x, sz, ax], ys, "SplitVOptions", NumSplits=len(sizes))
    return b.build([x], ys)


@pytest.mark.parametrize("shape,axis,n", [((12,), 0, 3), ((4, 6), 1, 2), ((4, 6), -2, 4), ((2, 3, 4, 6), 3, 3),
                                          ((2, 3, 4, 6), 1, 3), ((1, 11, 1, 64), 3, 2), ((2, 3, 4), 0, 1)])
def test_split(shape, axis, n):
    check_bit_exact(split_model(shape, axis, n), trials=2, kernel_sets=KS)
    check_bit_exact(split_model(shape, axis, n, "int16"), trials=1, kernel_sets=KS)


@pytest.mark.parametrize("shape,axis,sizes", [((1, 11, 1, 64), 3, [32, 32]), ((1, 15, 1, 64), -1, [10, -1, 20]),
                                              ((5, 7), 0, [1, 3, 1]), ((2, 3, 8), 2, [-1, 3]), ((6, 2), 0, [5, 1])])
def test_split_v(shape, axis, sizes):
    check_bit_exact(split_model(shape, axis, None, sizes=sizes), trials=2, kernel_sets=KS)
    check_bit_exact(split_model(shape, axis, None, "int16", sizes=sizes), trials=1, kernel_sets=KS)


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
def test_split_dtypes(dtype):
    check_bit_exact(split_model((2, 6, 3), 1, 3, dtype), trials=2, kernel_sets=KS)
    check_bit_exact(split_model((2, 6, 3), 1, None, dtype, sizes=[4, -1]), trials=2, kernel_sets=KS)


def test_split_refusals():
    b = ModelBuilder()
    x = b.tensor("x", (4, 6), "int8", 0.1, 0)
    ys = [b.tensor(f"y{i}", (4, 2), "int8", 0.1, 0) for i in range(3)]
    b.op("SPLIT", [b.const("axis", np.array([2], np.int32)), x], ys, "SplitOptions", NumSplits=3)
    with pytest.raises(UnsupportedModelError) as e:
        pack(b.build([x], ys), "s.tflite", check_budget=False)
    assert "(SPLIT)" in str(e.value) and "axis 2 out of range" in str(e.value)


def test_slice_and_split_run_in_c_with_fifteen_outputs():
    """The C records' limit (15 outputs) is reached, and the sixteenth part falls back to np."""
    if not C_BUILT:
        pytest.skip("C kernels not built")
    check_bit_exact(split_model((2, 30), 1, 15), trials=2, kernel_sets=KS)
    data = split_model((2, 32), 1, 16)
    assert Interpreter(pack(data, "s.tflite", kernels="c", check_budget=False).binary).op_kernel_sets == ["np"]
    _check_bit_exact(data, trials=1, kernel_sets=KS)


def test_slice_and_split_invoke_allocates_nothing():
    for data in (slice_model((2, 5, 4, 3), [0, 4, 1, 0], [2, 0, 4, 3], [1, -2, 2, 1]),
                 split_model((1, 15, 1, 64), -1, None, sizes=[10, -1, 20])):
        it = Interpreter(pack(data, "a.tflite", kernels="np", check_budget=False).binary, kernels="np")
        growth, peak = traced_invokes(it)
        assert growth <= 0 and peak < 4096, (growth, peak)
