"""The compiled C kernel set: bit-exact against TFLite Micro on every SIMD path this CPU has
(EDGE_RT_C_FEATURES narrows the path), the whole C part of a schedule in one call, nothing
allocated per invoke, per-op fallback to numpy, and the C validator refusing records that
would make a kernel read or write out of bounds."""
import numpy as np
import pytest

from edge_rt import format as F
from edge_rt.compiler.pack import pack
from edge_rt.errors import EdgeRTError, ModelFormatError
from edge_rt.interpreter import Interpreter
from edge_rt.testing.c_set import C_BUILT, SKIP_REASON, simd_masks
from edge_rt.testing.conformance import check_bit_exact, traced_invokes
from edge_rt.testing.tflite_builder import ModelBuilder

pytestmark = pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON)
MASKS = simd_masks()


def fc_model(n, k, batches=1, act="NONE", seed=0, in_zp=3):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", (batches, k), "int8", 0.05, in_zp)
    y = b.tensor("y", (batches, n), "int8", 0.08 + 0.2 * rng.random(), int(rng.integers(-30, 30)))
    ws = list(rng.uniform(0.004, 0.02, n))
    w = b.const("w", rng.integers(-127, 128, (n, k), dtype=np.int8), scale=ws, zero_point=[0] * n,
                quantized_dimension=0)
    bias = b.const("b", rng.integers(-3000, 3000, n, dtype=np.int32), scale=[0.05 * s for s in ws],
                   zero_point=[0] * n)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction=act)
    return b.build([x], [y])


def fc_chain(widths, acts):
    """FULLY_CONNECTED layers in a chain with a SOFTMAX at the end."""
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = first = b.tensor("x", (1, widths[0]), "int8", 0.05, -4)
    for i, (k, n) in enumerate(zip(widths, widths[1:])):
        w = b.const(f"w{i}", rng.integers(-127, 128, (n, k), dtype=np.int8), 0.01, 0)
        bias = b.const(f"b{i}", rng.integers(-500, 500, n, dtype=np.int32), 0.0005, 0)
        y = b.tensor(f"y{i}", (1, n), "int8", 0.1, -10)
        b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction=acts[i])
        x = y
    out = b.tensor("p", (1, widths[-1]), "int8", 1 / 256, -128)
    b.op("SOFTMAX", [x], [out], "SoftmaxOptions", Beta=1.0)
    return b.build([first], [out])


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("n,k,batches,act", [(1, 1, 1, "NONE"), (3, 7, 2, "RELU"), (10, 16, 1, "NONE"),
                                             (7, 33, 3, "RELU6"), (64, 250, 1, "NONE"), (5, 31, 1, "RELU"),
                                             (33, 64, 2, "NONE"), (4, 1000, 1, "NONE")])
def test_fully_connected_bit_exact_every_simd_path(n, k, batches, act, mask, monkeypatch):
    monkeypatch.setenv("EDGE_RT_C_FEATURES", str(mask))
    check_bit_exact(fc_model(n, k, batches, act, seed=n * 7 + k), trials=4, kernel_sets=("c",))


def test_simd_path_is_reported_and_masks_narrow_it(monkeypatch):
    from edge_rt.kernels import c
    it = Interpreter(pack(fc_model(8, 40), "fc.tflite", kernels="c").binary)
    assert it.c_simd == c.simd_path() and it.c_simd in ("avx512vnni", "avx2", "neon-dotprod", "neon", "portable")
    monkeypatch.setenv("EDGE_RT_C_FEATURES", "0")
    assert Interpreter(pack(fc_model(8, 40), "fc.tflite", kernels="c").binary).c_simd == "portable"


def test_consecutive_c_ops_run_as_one_call_and_the_rest_falls_back_per_op(monkeypatch):
    """Three FCs then a SOFTMAX, with SOFTMAX taken out of the C set (as an op it lacked): the
    FCs are one C program (one call), SOFTMAX runs on numpy; the file records each op's set;
    bit-exact."""
    from edge_rt.kernels import c
    from edge_rt.kernels.c import ops
    monkeypatch.setattr(ops, "OPS", tuple(o for o in ops.OPS if o != F.OP_SOFTMAX))
    monkeypatch.delitem(c.KERNELS, F.OP_SOFTMAX)
    data = fc_chain([40, 32, 16, 10], ["RELU", "NONE", "NONE"])
    r = pack(data, "chain.tflite", kernels="c", check_budget=False,
             disable=("fuse_lookup_chain",))
    it = Interpreter(r.binary)
    assert it.op_kernel_sets == ["c", "c", "c", "np"]
    assert len(it._run) == 2  # one C call for the three FCs, one numpy kernel
    check_bit_exact(data, kernel_sets=("c",))


def test_invoke_allocates_nothing():
    data = fc_chain([40, 32, 16, 10], ["RELU", "NONE", "NONE"])
    it = Interpreter(pack(data, "chain.tflite", kernels="c", check_budget=False).binary)
    it.set_input(0, np.zeros((1, 40), np.int8))
    growth, peak = traced_invokes(it)
    assert growth <= 0 and peak < 4096, (growth, peak)


def test_opcode_table_matches_ops_py():
    from edge_rt.kernels.c import _ert, ops
    assert sorted(_ert.kernels()) == sorted(ops.OPS)
    for code, (name, sig) in _ert.kernels().items():
        assert F.OP_NAMES[code] == name and set(sig) <= set("biosmh")


def test_c_plan_has_no_numpy_staging():
    data = fc_model(64, 250)
    c_arena = pack(data, "fc.tflite", kernels="c").plan.arena_bytes
    assert c_arena < pack(data, "fc.tflite", kernels="np").plan.arena_bytes
    assert c_arena <= 250 + 64 + 4 * 64 + 32  # input, output, one int32 accumulator row (+ alignment)


def test_validator_refuses_out_of_bounds_records():
    """The C side checks every record against its rooms before any run: a room one byte short,
    a write into the constants, a misaligned int32 operand, or inconsistent params."""
    from edge_rt.kernels.c import _ert
    consts = bytearray(4096)
    arena = bytearray(4096)
    n, k = 4, 8
    # the weights in their packing (1 block of 16 channels x 2 groups of 4 taps), ..., wsum
    good = [(0, 0, k), (0, 256, 64 * 2), (0, 64, 4 * n), (0, 128, 4 * n), (0, 192, 4 * n), (1, 0, n), (1, 64, 0),
            (0, 512, 64)]
    prm = [1, n, k, 0, -128, 127]
    _ert.Program(consts, arena, [(F.OP_FULLY_CONNECTED, prm, good)]).run()

    def refused(prm, opd):
        with pytest.raises(ValueError):
            _ert.Program(consts, arena, [(F.OP_FULLY_CONNECTED, prm, opd)])
    for i in range(len(good)):
        if good[i][2] == 0:  # FC needs no scratch: nothing to shorten
            continue
        short = list(good)
        short[i] = (good[i][0], good[i][1], good[i][2] - 1)
        refused(prm, short)
    refused(prm, good[:5] + [(0, 0, n)] + good[6:])             # output in the read-only file
    refused(prm, good[:2] + [(0, 66, 4 * n)] + good[3:])         # misaligned int32 bias
    refused(prm, good[:6] + [(1, 4090, 4 * n)] + good[7:])        # scratch past the arena
    refused([1, n, k, 0, -128], good)                             # too few params
    refused([0, n, k, 0, -128, 127], good)                        # empty batch
    refused([1, n, -k, 0, -128, 127], good)
    refused(prm, good[:7])                                        # a missing operand
    with pytest.raises(ValueError):
        _ert.Program(consts, arena, [(999, prm, good)])


def test_damaged_record_is_one_line_naming_the_op():
    """A c-packed file whose convolution scratch (its patches) was planned too small, as a crafted
    file could say: refused at load by the C validator, as a ModelFormatError naming the op."""
    import binascii
    import struct
    from edge_rt import reader
    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 6, 2), "int8", 0.05, 1)
    w = b.const("w", rng.integers(-127, 128, (8, 3, 3, 2), dtype=np.int8), 0.01, 0)
    bias = b.const("b", rng.integers(-100, 100, 8, dtype=np.int32), 0.0005, 0)
    y = b.tensor("y", (1, 6, 6, 8), "int8", 0.1, 0)
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", Padding="SAME", StrideW=1, StrideH=1,
         DilationWFactor=1, DilationHFactor=1, FusedActivationFunction="NONE")
    binary = bytearray(pack(b.build([x], [y]), "conv.tflite", kernels="c").binary)
    Interpreter(bytes(binary)).invoke()
    m = reader.parse(bytes(binary))
    off, _ = m.sections[F.SEC_OPS]
    sc = struct.unpack_from("<I", binary, off + 12)[0]
    assert sc == 16 * 32  # 16 patches of 18 bytes, each 16-aligned
    struct.pack_into("<I", binary, off + 12, sc - 1)
    struct.pack_into("<I", binary, 12, binascii.crc32(memoryview(binary)[F.CRC_START:]) & 0xFFFFFFFF)
    with pytest.raises(ModelFormatError, match=r"op 0 \(CONV_2D\): the c kernel refuses it: .*operand 6"):
        Interpreter(bytes(binary))


def test_c_layout_mismatch_is_refused(monkeypatch):
    from edge_rt.kernels.c import ops
    monkeypatch.setattr(ops, "LAYOUT", 999)
    old = pack(fc_model(4, 8), "fc.tflite", kernels="c").binary
    monkeypatch.undo()
    with pytest.raises(ModelFormatError, match=r"C kernel layout 999 .* need layout %d: repack" % ops.LAYOUT):
        Interpreter(old)
    Interpreter(old, kernels="ref").invoke()


def test_missing_extension_is_one_line_at_load_and_a_fallback_at_pack(monkeypatch, capsys):
    """Without the extension: a c-packed file fails at load saying to repack with --kernels np;
    packing for a board whose default is c falls back to np with one warning line."""
    import sys
    import edge_rt.kernels.c  # noqa: F401
    binary = pack(fc_model(4, 8), "fc.tflite", kernels="c").binary
    import edge_rt.kernels
    monkeypatch.setitem(sys.modules, "edge_rt.kernels.c", None)  # import now raises ImportError
    monkeypatch.delattr(edge_rt.kernels, "c")
    import edge_rt.interpreter
    monkeypatch.setattr(edge_rt.interpreter, "_LOADED", {})  # the interpreter's cache of imported sets
    with pytest.raises(EdgeRTError, match="repack the model with --kernels np"):
        Interpreter(binary)
    r = pack(fc_model(4, 8), "fc.tflite", board="rpi4")
    assert r.graph.meta is not None
    assert Interpreter(r.binary).op_kernel_sets == ["np"]
    # one warning line, which the CLI prints (pack's warnings)
    assert [w for w in r.warnings if "kernel set 'np'" in w] == ["C kernels not built on this host; packed for kernel set 'np'"]


def test_validator_refuses_out_of_range_requantization_constants():
    """Shifts outside [-31, 30] or negative multipliers (a crafted file) would make the C fixed-point
    code shift out of range: the validator reads the values and refuses the record."""
    from edge_rt.kernels.c import _ert
    consts = bytearray(4096)
    arena = bytearray(4096)
    n, k = 4, 8
    opd = [(0, 0, k), (0, 256, 64 * 2), (0, 64, 4 * n), (0, 128, 4 * n), (0, 192, 4 * n), (1, 0, n), (1, 64, 0),
           (0, 512, 64)]
    prm = [1, n, k, 0, -128, 127]
    _ert.Program(consts, arena, [(F.OP_FULLY_CONNECTED, prm, opd)]).run()
    for at, value in ((192, 31), (192, -32), (128, -1)):
        bad = bytearray(consts)
        bad[at + 4:at + 8] = value.to_bytes(4, "little", signed=True)
        with pytest.raises(ValueError, match="out of range"):
            _ert.Program(bad, arena, [(F.OP_FULLY_CONNECTED, prm, opd)])


def test_cli_says_which_set_runs_each_op(tmp_path):
    """edge-rt pack --kernels c, run and inspect name the set of each op (and run the C SIMD path)."""
    import subprocess
    import sys
    src = tmp_path / "chain.tflite"
    src.write_bytes(fc_chain([40, 32, 16, 10], ["RELU", "NONE", "NONE"]))
    ert = tmp_path / "chain.ert"
    cli = [sys.executable, "-m", "edge_rt.host.cli"]
    r = subprocess.run(cli + ["pack", str(src), "-o", str(ert), "--kernels", "c"], capture_output=True, text=True)
    assert r.returncode == 0 and "kernel sets: c: 4 ops" in r.stdout, r.stdout + r.stderr
    r = subprocess.run(cli + ["run", str(ert)], capture_output=True, text=True)
    assert r.returncode == 0 and "kernel sets: c: 4 ops (SIMD " in r.stdout, r.stdout + r.stderr
    r = subprocess.run(cli + ["inspect", str(ert)], capture_output=True, text=True)
    lines = [ln for ln in r.stdout.splitlines() if "FULLY_CONNECTED" in ln or "SOFTMAX" in ln]
    assert [("[c  ]" in ln, "[np ]" in ln) for ln in lines] == [(True, False)] * 4, r.stdout
    r = subprocess.run(cli + ["inspect", str(ert), "--kernels", "ref"], capture_output=True, text=True)
    assert r.returncode == 0 and "kernel sets: ref: 4 ops" in r.stdout, r.stdout + r.stderr
