"""Single-op conformance for the neural-network ops of issue 13 item 5 (PRELU, RESIZE_BILINEAR,
TRANSPOSE_CONV, LOG_SOFTMAX; int8): sweeps over each op's parameter space, bit-exact (0 LSB)
against TFLite Micro (the wheel's resolver has all four) on both kernel sets; configurations
the reference rejects are rejected at pack time naming the op; invoke allocates nothing (np
and ref); micropython_cases() feeds tests/test_micropython.py's every-ref-op run."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.errors import UnsupportedModelError
from edge_rt.interpreter import Interpreter
from edge_rt.kernels.fixedpoint import log_ge_1
from edge_rt.testing.conformance import check_bit_exact, traced_invokes
from edge_rt.testing.reference import random_input
from edge_rt.testing.tflite_builder import ModelBuilder

KS = ("np", "ref")


def q8(b, name, shape, q):
    return b.tensor(name, shape, "int8", scale=q[0], zero_point=q[1])


def problem(data):
    with pytest.raises(UnsupportedModelError) as e:
        pack(data, "bad.tflite", kernels="np")
    return str(e.value)


# -- PRELU ---------------------------------------------------------------------------------
def prelu_model(shape, ashape, q_in=(0.05, -3), q_a=(0.01, 5), q_out=(0.04, 2), const_alpha=True, seed=1,
                oshape=None):
    b = ModelBuilder()
    x = q8(b, "x", shape, q_in)
    if const_alpha:
        rng = np.random.default_rng(seed)
        a = b.const("alpha", rng.integers(-128, 128, ashape, dtype=np.int8), q_a[0], q_a[1])
    else:
        a = q8(b, "alpha", ashape, q_a)
    oshape = oshape or np.broadcast_shapes(tuple(shape), tuple(ashape))
    y = q8(b, "y", oshape, q_out)
    b.op("PRELU", [x, a], [y])
    return b.build([x] if const_alpha else [x, a], [y])


PRELU_SHAPES = [((1, 4, 5, 3), (3,)), ((1, 4, 5, 3), (1, 1, 3)), ((1, 4, 5, 3), (4, 5, 3)),
                ((2, 3, 4, 6), (1, 1, 1, 6)), ((3, 7), (7,)), ((3, 7), (3, 7)), ((10,), (1,)),
                ((1, 6, 6, 4), (1, 6, 1, 1))]
# (input, alpha, output) quantizations: identity multiplier below and above 1, alpha scales
# that make the alpha multiplier tiny or large, zero points at the ends of the range
PRELU_QUANTS = [((0.05, -3), (0.01, 5), (0.04, 2)), ((0.02, 10), (0.004, -128), (0.05, -20)),
                ((0.1, 127), (0.25, 0), (0.02, -128)), ((0.003, -100), (1e-4, 60), (0.003, -100))]


@pytest.mark.parametrize("quants", PRELU_QUANTS, ids=str)
@pytest.mark.parametrize("shapes", PRELU_SHAPES, ids=str)
def test_prelu(shapes, quants):
    check_bit_exact(prelu_model(*shapes, *quants), trials=2, kernel_sets=KS)


def test_prelu_computed_alpha_and_broadcast_input():
    # alpha an input (every (x, alpha) pair reachable), and an input smaller than alpha
    check_bit_exact(prelu_model((2, 3, 4, 5), (2, 3, 4, 5), const_alpha=False), trials=3, kernel_sets=KS)
    check_bit_exact(prelu_model((1, 1, 5), (3, 4, 5), const_alpha=False), trials=3, kernel_sets=KS)
    grid = np.arange(-128, 128, dtype=np.int8)
    data = prelu_model((256, 256), (256, 256), const_alpha=False)
    check_bit_exact(data, kernel_sets=KS, inputs=[(np.repeat(grid, 256).reshape(256, 256),
                                                   np.tile(grid, 256).reshape(256, 256))])


def test_prelu_rejections():
    msg = problem(prelu_model((1, 2, 2, 2, 3), (3,)))
    assert "PRELU" in msg and "rank 5" in msg
    msg = problem(prelu_model((2, 3), (4,), oshape=(2, 3)))
    assert "PRELU" in msg and "broadcast" in msg
    msg = problem(prelu_model((2, 3), (3,), q_in=(1.0, 0), q_a=(1.0, 0), q_out=(1e-10, 0)))
    assert "PRELU" in msg and "too large" in msg
    b = ModelBuilder()
    x, a, y = b.tensor("x", (4,), "float32"), b.tensor("a", (4,), "float32"), b.tensor("y", (4,), "float32")
    b.op("PRELU", [x, a], [y])
    msg = problem(b.build([x, a], [y]))
    assert "PRELU" in msg and "float32" in msg


# -- RESIZE_BILINEAR -----------------------------------------------------------------------
def bilinear_model(shape, size, align_corners=False, half_pixel=False, q_out=(0.05, -3)):
    b = ModelBuilder()
    x = q8(b, "x", shape, (0.05, -3))
    y = q8(b, "y", (shape[0], size[0], size[1], shape[3]), q_out)
    b.op("RESIZE_BILINEAR", [x, b.const("size", np.array(size, np.int32))], [y], "ResizeBilinearOptions",
         AlignCorners=align_corners, HalfPixelCenters=half_pixel)
    return b.build([x], [y])


BILINEAR_SIZES = [((1, 4, 5, 3), (8, 10)), ((1, 3, 4, 2), (7, 9)), ((2, 5, 5, 4), (3, 2)),
                  ((1, 6, 4, 1), (6, 4)), ((1, 1, 1, 5), (4, 3)), ((1, 7, 3, 2), (1, 1)),
                  ((1, 2, 3, 8), (13, 17)), ((3, 4, 4, 3), (16, 5)), ((1, 9, 7, 2), (4, 11)),
                  ((1, 2, 2, 3), (30, 30))]
BILINEAR_OPTIONS = [(False, False), (True, False), (False, True)]


@pytest.mark.parametrize("options", BILINEAR_OPTIONS, ids=str)
@pytest.mark.parametrize("shape,size", BILINEAR_SIZES, ids=str)
def test_resize_bilinear(shape, size, options):
    check_bit_exact(bilinear_model(shape, size, *options), trials=2, kernel_sets=KS)


def test_resize_bilinear_extremes_and_raw_values():
    # every int8 value at every tap position, and an output quantization the op ignores
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 4, 8, 8)
    for opts in BILINEAR_OPTIONS:
        data = bilinear_model((1, 4, 8, 8), (11, 13), *opts, q_out=(0.3, 40))
        check_bit_exact(data, kernel_sets=KS, inputs=[(x,), (np.full_like(x, -128),), (np.full_like(x, 127),)])


def test_resize_bilinear_rejections():
    msg = problem(bilinear_model((1, 4, 4, 3), (8, 8), True, True))
    assert "RESIZE_BILINEAR" in msg and "align_corners and half_pixel_centers" in msg
    msg = problem(bilinear_model((1, 1, 1, 3), (80, 2)))
    assert "RESIZE_BILINEAR" in msg and "outside the input" in msg
    b = ModelBuilder()
    x, s = q8(b, "x", (1, 4, 4, 3), (0.05, -3)), b.tensor("s", (2,), "int32")
    y = q8(b, "y", (1, 8, 8, 3), (0.05, -3))
    b.op("RESIZE_BILINEAR", [x, s], [y], "ResizeBilinearOptions")
    msg = problem(b.build([x, s], [y]))
    assert "RESIZE_BILINEAR" in msg and "constant" in msg


# -- TRANSPOSE_CONV ------------------------------------------------------------------------
def tconv_model(xshape, oc, k, stride, padding, out_hw=None, per_channel=True, with_bias=True, act="NONE",
                q_in=(0.05, -3), q_out=(0.1, 4), seed=2):
    rng = np.random.default_rng(seed)
    n, ih, iw, ic = xshape
    kh, kw = k
    sh, sw = stride
    if out_hw is None:  # TFLite's output size for the padding: the inverse of a convolution's
        out_hw = ((ih * sh, iw * sw) if padding == "SAME"
                  else ((ih - 1) * sh + kh, (iw - 1) * sw + kw))
    b = ModelBuilder()
    x = q8(b, "x", xshape, q_in)
    scales = list(rng.uniform(0.002, 0.02, oc)) if per_channel else [0.01]
    w = b.const("w", rng.integers(-127, 128, (oc, kh, kw, ic), dtype=np.int8), scale=scales,
                zero_point=[0] * len(scales), quantized_dimension=0)
    y = q8(b, "y", (n, out_hw[0], out_hw[1], oc), q_out)
    shape = b.const("out_shape", np.array([n, out_hw[0], out_hw[1], oc], np.int32))
    ins = [shape, w, x]
    if with_bias:
        ins.append(b.const("bias", rng.integers(-3000, 3000, oc).astype(np.int32)))
    b.op("TRANSPOSE_CONV", ins, [y], "TransposeConvOptions", Padding=padding, StrideW=sw, StrideH=sh,
         FusedActivationFunction=act)
    return b.build([x], [y])


TCONV_CASES = [((1, 4, 4, 3), 5, (3, 3), (2, 2), "SAME"), ((1, 4, 4, 3), 5, (3, 3), (2, 2), "VALID"),
               ((1, 5, 3, 2), 4, (2, 2), (2, 2), "SAME"), ((1, 5, 3, 2), 4, (2, 2), (2, 2), "VALID"),
               ((2, 3, 4, 4), 3, (3, 3), (1, 1), "SAME"), ((1, 3, 3, 6), 2, (4, 4), (2, 2), "SAME"),
               ((1, 3, 5, 1), 1, (3, 2), (3, 1), "VALID"), ((1, 2, 2, 8), 8, (5, 5), (2, 3), "SAME"),
               ((1, 6, 6, 3), 4, (1, 1), (2, 2), "VALID"), ((1, 1, 1, 16), 6, (4, 4), (1, 1), "VALID")]


@pytest.mark.parametrize("variant", ["per_channel", "per_tensor_no_bias"])
@pytest.mark.parametrize("case", TCONV_CASES, ids=str)
def test_transpose_conv(case, variant):
    pc = variant == "per_channel"
    check_bit_exact(tconv_model(*case, per_channel=pc, with_bias=pc), trials=2, kernel_sets=KS)


def test_transpose_conv_cropped_output_and_activations():
    # an output smaller than the full transposed size (padding crops it), and the quantizations
    # that push the accumulator to the clamps
    check_bit_exact(tconv_model((1, 4, 4, 3), 5, (3, 3), (2, 2), "SAME", out_hw=(7, 7)), trials=2, kernel_sets=KS)
    check_bit_exact(tconv_model((1, 4, 4, 3), 5, (3, 3), (2, 2), "VALID", out_hw=(8, 9)), trials=2, kernel_sets=KS)
    check_bit_exact(tconv_model((1, 3, 3, 4), 3, (3, 3), (2, 2), "SAME", q_in=(0.2, 127), q_out=(0.01, -128)),
                    trials=2, kernel_sets=KS)
    for act in ("RELU", "RELU6"):
        check_bit_exact(tconv_model((1, 3, 3, 4), 3, (3, 3), (2, 2), "SAME", act=act, q_out=(0.02, -100)),
                        trials=2, kernel_sets=KS)


def test_transpose_conv_rejections():
    b = ModelBuilder()
    x = q8(b, "x", (1, 2, 2, 3), (0.05, 0))
    w = b.const("w", np.ones((4, 3, 3, 3), np.int8), scale=0.01, zero_point=3)
    y = q8(b, "y", (1, 4, 4, 4), (0.1, 0))
    b.op("TRANSPOSE_CONV", [b.const("s", np.array([1, 4, 4, 4], np.int32)), w, x], [y], "TransposeConvOptions",
         Padding="SAME", StrideW=2, StrideH=2)
    msg = problem(b.build([x], [y]))
    assert "TRANSPOSE_CONV" in msg and "zero point" in msg
    b = ModelBuilder()
    x = q8(b, "x", (1, 2, 2, 3), (0.05, 0))
    w = b.const("w", np.ones((4, 3, 3, 5), np.int8), scale=0.01)
    y = q8(b, "y", (1, 4, 4, 4), (0.1, 0))
    b.op("TRANSPOSE_CONV", [b.const("s", np.array([1, 4, 4, 4], np.int32)), w, x], [y], "TransposeConvOptions",
         Padding="SAME", StrideW=2, StrideH=2)
    msg = problem(b.build([x], [y]))
    assert "TRANSPOSE_CONV" in msg and "channels" in msg


# -- LOG_SOFTMAX ---------------------------------------------------------------------------
def log_softmax_model(shape, q_in=(0.1, 3), q_out=(16 / 256, 127)):
    b = ModelBuilder()
    x = q8(b, "x", shape, q_in)
    y = q8(b, "y", shape, q_out)
    b.op("LOG_SOFTMAX", [x], [y])
    return b.build([x], [y])


LOG_SOFTMAX_SHAPES = [(1, 10), (4, 37), (2, 3, 5), (1, 1), (3, 256), (1, 2, 2, 12)]
LOG_SOFTMAX_SCALES = [(0.1, 3), (0.02, -128), (0.5, 10), (1.0, 0), (0.004, 60), (3e-5, 0)]


@pytest.mark.parametrize("q_in", LOG_SOFTMAX_SCALES, ids=str)
@pytest.mark.parametrize("shape", LOG_SOFTMAX_SHAPES, ids=str)
def test_log_softmax(shape, q_in):
    check_bit_exact(log_softmax_model(shape, q_in), trials=3, kernel_sets=KS)


def test_log_softmax_peaked_flat_and_every_difference():
    rows = [np.full(40, 5, np.int8), np.r_[np.int8(127), np.full(39, -128, np.int8)],
            np.arange(-128, 128, 6.4).astype(np.int8)[:40]]
    x = np.stack(rows)
    grid = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    for q_in in ((0.1, 3), (0.02, -128), (0.5, 10)):
        check_bit_exact(log_softmax_model((3, 40), q_in), kernel_sets=KS, inputs=[(x,), (x[::-1].copy(),)])
        check_bit_exact(log_softmax_model((1, 256), q_in), kernel_sets=KS, inputs=[(grid,), (grid[:, ::-1].copy(),)])


@pytest.mark.parametrize("q_in", LOG_SOFTMAX_SCALES + [(10.0, -5), (100.0, 0), (0.25, 0)], ids=str)
def test_log_softmax_small_int_path_covers_every_row(q_in, monkeypatch):
    """The ref kernel's small-int steps (allocation-free on 32-bit MicroPython) run every row of
    these models, rows up to 2,047 long included: the exact big-int steps are made to raise."""
    import edge_rt.kernels.ref.log_softmax as ref_ls

    def unused(*a):
        raise AssertionError("the exact (big-int) LOG_SOFTMAX steps ran")
    monkeypatch.setattr(ref_ls, "log_ge_1", unused)
    monkeypatch.setattr(ref_ls, "mbqm", unused)
    rng = np.random.default_rng(3)
    peaked = np.full((1, 2047), -128, np.int8)
    peaked[0, 5] = 127
    for shape in ((4, 37), (1, 2047), (2, 300)):
        xs = [(rng.integers(-128, 128, shape, dtype=np.int8),), (np.full(shape, 7, np.int8),)]
        if shape == (1, 2047):
            xs.append((peaked,))
        check_bit_exact(log_softmax_model(shape, q_in), kernel_sets=("ref",), inputs=xs)


@pytest.mark.parametrize("shape,q_in", [((1, 2100), (0.1, 3)), ((2, 40), (5e-8, 0))], ids=str)
def test_log_softmax_exact_path(shape, q_in, monkeypatch):
    """Rows of 2,048+ values and reverse shifts the small-int steps do not cover (input scale
    below about 1e-7) take the exact steps, bit-exact too."""
    import edge_rt.kernels.ref.log_softmax as ref_ls
    rows = []
    monkeypatch.setattr(ref_ls, "log_ge_1", lambda *a: rows.append(a) or log_ge_1(*a))
    rng = np.random.default_rng(4)
    xs = [(rng.integers(-128, 128, shape, dtype=np.int8),), (np.full(shape, -3, np.int8),)]
    check_bit_exact(log_softmax_model(shape, q_in), kernel_sets=KS, inputs=xs)
    assert rows  # the exact steps ran


def test_log_softmax_rejects_other_output_quantization():
    msg = problem(log_softmax_model((2, 5), q_out=(1 / 256, -128)))
    assert "LOG_SOFTMAX" in msg and "16/256" in msg


# -- zero allocation and the MicroPython cases ---------------------------------------------
def alloc_models():
    return {
        "PRELU": prelu_model((1, 4, 5, 3), (3,)),
        "RESIZE_BILINEAR": bilinear_model((2, 4, 5, 3), (8, 10), False, True),
        "TRANSPOSE_CONV": tconv_model((2, 4, 4, 3), 5, (3, 3), (2, 2), "SAME"),
        "LOG_SOFTMAX": log_softmax_model((4, 37)),
    }


@pytest.mark.parametrize("ks", KS)
@pytest.mark.parametrize("name", sorted(alloc_models()))
def test_invoke_allocates_nothing(name, ks):
    data = alloc_models()[name]
    it = Interpreter(pack(data, "m.tflite", kernels=ks, check_budget=False).binary, kernels=ks)
    rng = np.random.default_rng(0)
    for i, d in enumerate(it.input_details()):
        it.set_input(i, random_input(d["shape"], d["dtype"], rng))
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < 4096, f"{name} on {ks}: {growth} B retained, peak {peak} B"


def micropython_cases():
    """[(label, .tflite bytes, inputs or None)] for tests/test_micropython.py (every ref op)."""
    return [
        ("PRELU", prelu_model((1, 3, 4, 5), (5,)), None),
        ("PRELU_computed_alpha", prelu_model((2, 3, 4), (2, 3, 4), const_alpha=False), None),
        ("RESIZE_BILINEAR", bilinear_model((1, 3, 4, 2), (7, 9), False, True), None),
        ("RESIZE_BILINEAR_align", bilinear_model((2, 3, 3, 3), (5, 4), True, False), None),
        ("TRANSPOSE_CONV", tconv_model((1, 3, 3, 2), 3, (3, 3), (2, 2), "SAME", act="RELU"), None),
        ("TRANSPOSE_CONV_valid", tconv_model((1, 2, 3, 3), 2, (2, 3), (1, 2), "VALID", per_channel=False,
                                             with_bias=False), None),
        ("LOG_SOFTMAX", log_softmax_model((3, 17), (0.1, 3)), None),
        ("LOG_SOFTMAX_long_rows", log_softmax_model((2, 700), (0.004, 60)), None),
        ("LOG_SOFTMAX_coarse", log_softmax_model((3, 20), (100.0, 0)), None),
        ("LOG_SOFTMAX_fine", log_softmax_model((2, 40), (3e-5, 0)), None),
    ]
