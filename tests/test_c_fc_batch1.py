"""FULLY_CONNECTED with batch 1 (a matrix-vector product) on the C set, whose pack holds the weights
only in their VNNI packing: bit-exact against TFLite Micro on every SIMD path this CPU has, for N
and K off every multiple of 4/16/64, per-channel and per-tensor weights, each fused activation and
input zero points; the ref set runs the same c-packed file exactly (it unpacks the weights)."""
import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.interpreter import Interpreter
from edge_rt.testing.c_set import C_BUILT, SKIP_REASON, simd_masks
from edge_rt.testing.conformance import check_bit_exact, run_edge
from edge_rt.testing.reference import TFLM, random_input
from edge_rt.testing.tflite_builder import ModelBuilder

pytestmark = pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON)
MASKS = simd_masks()

# (N, K): every value of 1, 3, 8, 17, 63, 64, 65, 128, 640, 4000 on both sides, the 10 layer
# shapes of ad_autoencoder among them (640->128, 128->8, 8->128, 128->640)
SHAPES = [(1, 1), (3, 4000), (4000, 3), (8, 128), (128, 8), (17, 63), (63, 65), (65, 17), (64, 64),
          (128, 640), (640, 128), (1, 640), (17, 1), (3, 8)]
ACTS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def fc1(n, k, per_channel, act, in_zp, seed):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", (1, k), "int8", 0.05, in_zp)
    y = b.tensor("y", (1, n), "int8", 0.05 + 0.3 * rng.random(), int(rng.integers(-40, 40)))
    ws = list(rng.uniform(0.002, 0.02, n)) if per_channel else [0.01]
    w = b.const("w", rng.integers(-127, 128, (n, k), dtype=np.int8), scale=ws, zero_point=[0] * len(ws),
                quantized_dimension=0)
    bias_scale = [0.05 * s for s in ws]
    bias = b.const("b", rng.integers(-4000, 4000, n, dtype=np.int32), scale=bias_scale,
                   zero_point=[0] * len(ws))
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction=act)
    return b.build([x], [y])


def case(i, n, k):
    """(per_channel, act, in_zp) varied over the shapes"""
    return i % 2 == 0, ACTS[i % len(ACTS)], (-128, 0, 5, 127, -77)[i % 5]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("i,n,k", [(i, n, k) for i, (n, k) in enumerate(SHAPES)])
def test_batch1_bit_exact_every_simd_path(i, n, k, mask, monkeypatch):
    monkeypatch.setenv("EDGE_RT_C_FEATURES", str(mask))
    per_channel, act, in_zp = case(i, n, k)
    check_bit_exact(fc1(n, k, per_channel, act, in_zp, seed=i), trials=3, kernel_sets=("c",), all_c=True)


@pytest.mark.parametrize("i,n,k", [(i, n, k) for i, (n, k) in enumerate(SHAPES) if n * k <= 20000])
def test_ref_runs_the_c_packed_file_exactly(i, n, k):
    """kernels="ref" on a file packed for c: the ref kernel reads the weights from their packing."""
    per_channel, act, in_zp = case(i, n, k)
    data = fc1(n, k, per_channel, act, in_zp, seed=i)
    it = Interpreter(pack(data, "fc.tflite", kernels="c").binary, kernels="ref")
    assert it.op_kernel_sets == ["ref"]
    ref = TFLM(data)
    rng = np.random.default_rng(i)
    for _ in range(2):
        x = random_input((1, k), np.int8, rng)
        np.testing.assert_array_equal(run_edge(it, (x,))[0], ref(x)[0])


def test_c_pack_holds_one_copy_of_the_weights():
    """The c-packed file stores the weights once (their packing) plus small per-row constants."""
    n, k = 128, 640
    data = fc1(n, k, True, "NONE", 3, seed=1)
    c_bytes = len(pack(data, "fc.tflite", kernels="c").binary)
    ref_bytes = len(pack(data, "fc.tflite", kernels="ref").binary)
    assert n * k <= c_bytes < ref_bytes + 4 * n + 1024  # + wsum, alignment


def test_constants_are_64_byte_aligned_in_the_file_and_in_memory():
    """The writer starts CONSTS and each constant of 64+ bytes on a 64-byte boundary; a bytes model
    (its data 32 bytes into the object) gets one aligned, read-only copy of its constants."""
    from edge_rt import format as F
    from edge_rt import reader
    from edge_rt.kernels.c import _ert
    binary = pack(fc1(17, 63, True, "RELU", 3, seed=2), "fc.tflite", kernels="c").binary
    m = reader.parse(binary)
    off, _ = m.sections[F.SEC_CONSTS]
    assert off % 64 == 0
    big = [t for t in m.tensors if t.kind == F.KIND_CONST and t.nbytes >= 64]
    assert big and all(t.offset % 64 == 0 for t in big)
    it = Interpreter(bytes(binary))
    consts = it.model.consts
    assert np.frombuffer(consts, np.uint8).ctypes.data % 64 == 0
    assert consts.readonly and bytes(consts) == bytes(m.consts)
    ba = bytearray(4096)
    at = (-np.frombuffer(ba, np.uint8).ctypes.data) % 64
    view = memoryview(ba)[at:at + 256]
    assert _ert.aligned(view) is view                      # already aligned: no copy
    moved = _ert.aligned(memoryview(ba)[at + 16:at + 272])
    assert np.frombuffer(moved, np.uint8).ctypes.data % 64 == 0 and bytes(moved) == bytes(ba[at + 16:at + 272])
