"""Load-time work moved to pack time for the numpy kernel set: the packer appends np-only
constants (requantization plans, ADD/SUB/MUL pair tables) after an op's kernel inputs.
Checked here: each stored constant equals what the kernel computes at bind time without it,
a model runs identically with and without them, and the pure-Python kernels ignore them.
(Load time itself is measured by `edge-rt bench`, not asserted.)"""

import binascii

import numpy as np
import pytest

from edge_rt import format as F
from edge_rt import interpreter as interp_mod
from edge_rt import reader
from edge_rt.compiler.pack import pack
from edge_rt.errors import ModelFormatError
from edge_rt.interpreter import Interpreter
from edge_rt.kernels.np import add as np_add
from edge_rt.kernels.np import conv_2d as np_conv
from edge_rt.kernels.np import depthwise_conv_2d as np_dw
from edge_rt.kernels.np import fully_connected as np_fc
from edge_rt.kernels.np import mul as np_mul
from edge_rt.testing.conformance import check_bit_exact, run_edge
from edge_rt.testing.reference import random_input
from edge_rt.testing.tflite_builder import ModelBuilder
from edge_rt.testing import shared_models

MODELS = ["hello_world_int8", "micro_speech_int8", "kws_dscnn_int8", "ic_resnet8_int8", "ad_autoencoder_int8"]

# kernel inputs the ref kernels read; the np-only constants follow
BASE_INPUTS = {F.OP_CONV_2D: 5, F.OP_DEPTHWISE_CONV_2D: 5, F.OP_FULLY_CONNECTED: 5, F.OP_ADD: 2,
               F.OP_SUB: 2, F.OP_MUL: 2, F.OP_CONV_2D_ADD: 6, F.OP_FULLY_CONNECTED_ADD: 6,
               F.OP_DS_CONV_2D: 9}
WEIGHTED = {F.OP_CONV_2D: np_conv, F.OP_DEPTHWISE_CONV_2D: np_dw, F.OP_FULLY_CONNECTED: np_fc}


_shared = shared_models.load


def _conv(b, rng, x, shape_w, out, name, dw=False, act="NONE", **opts):
    oc = shape_w[3] if dw else shape_w[0]
    scales = list(rng.uniform(0.005, 0.03, oc))
    w = b.const(name + "_w", rng.integers(-127, 128, shape_w, dtype=np.int8), scale=scales,
                zero_point=[0] * oc, quantized_dimension=3 if dw else 0)
    bias = b.const(name + "_b", rng.integers(-2000, 2000, oc, dtype=np.int32),
                   scale=[0.05 * s for s in scales], zero_point=[0] * oc)
    kind, options = ("DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions") if dw else ("CONV_2D", "Conv2DOptions")
    b.op(kind, [x, w, bias], [out], options, Padding="SAME", StrideW=1, StrideH=1, DilationWFactor=1,
         DilationHFactor=1, FusedActivationFunction=act, **opts)


def _small_models():
    """Tiny models whose ops get np-only constants: residual conv (CONV_2D_ADD),
    depthwise-separable (DS_CONV_2D), SUB and MUL."""
    rng = np.random.default_rng(3)
    out = {}
    b = ModelBuilder()  # a residual block: the skip s is not the fused conv's input
    x = b.tensor("x", (1, 5, 5, 3), "int8", 0.05, -3)
    s = b.tensor("s", (1, 5, 5, 4), "int8", 0.08, 1)
    t = b.tensor("t", (1, 5, 5, 4), "int8", 0.09, -128)
    h = b.tensor("h", (1, 5, 5, 4), "int8", 0.1, 2)
    y = b.tensor("y", (1, 5, 5, 4), "int8", 0.12, -1)
    _conv(b, rng, x, (4, 3, 3, 3), s, "a")
    _conv(b, rng, s, (4, 3, 3, 4), t, "b", act="RELU")
    _conv(b, rng, t, (4, 3, 3, 4), h, "c")
    b.op("ADD", [h, s], [y], "AddOptions", FusedActivationFunction="RELU")
    out["conv_add"] = b.build([x], [y])
    b = ModelBuilder()
    x = b.tensor("x", (1, 5, 5, 4), "int8", 0.05, -3)
    h = b.tensor("h", (1, 5, 5, 4), "int8", 0.1, -128)
    y = b.tensor("y", (1, 5, 5, 6), "int8", 0.12, -1)
    _conv(b, rng, x, (1, 3, 3, 4), h, "d", dw=True, act="RELU", DepthMultiplier=1)
    _conv(b, rng, h, (6, 1, 1, 4), y, "p")
    out["ds_conv"] = b.build([x], [y])
    for kind, opts in (("SUB", "SubOptions"), ("MUL", "MulOptions")):
        b = ModelBuilder()
        x1 = b.tensor("x1", (1, 3, 4), "int8", 0.05, 3)
        x2 = b.tensor("x2", (1, 1, 4), "int8", 0.04, -7)
        y = b.tensor("y", (1, 3, 4), "int8", 0.03, 1)
        b.op(kind, [x1, x2], [y], opts, FusedActivationFunction="NONE")
        out[kind.lower()] = b.build([x1, x2], [y])
    return out


SMALL = _small_models()


def _expected_constants(m, op, v):
    """The np-only constants op should carry, recomputed from its ordinary inputs."""
    c = op.opcode
    ins, p = op.inputs, op.params
    if c in WEIGHTED:
        w, bias, mult, shift = (v[i] for i in ins[1:5])
        return [WEIGHTED[c].constants(w, bias, mult, shift, p)]
    if c in (F.OP_ADD, F.OP_SUB):
        return [np_add.table(p, 1 if c == F.OP_ADD else -1)]
    if c == F.OP_MUL:
        return [np_mul.table(p)]
    if c in (F.OP_CONV_2D_ADD, F.OP_FULLY_CONNECTED_ADD):
        part = np_conv if c == F.OP_CONV_2D_ADD else np_fc
        n = 10 if c == F.OP_CONV_2D_ADD else 3
        w, bias, mult, shift = (v[i] for i in ins[1:5])
        return [part.constants(w, bias, mult, shift, p[:n]), np_add.table(p[n + 1:], 1)]
    if c == F.OP_DS_CONV_2D:
        return [np_dw.constants(*(v[i] for i in ins[1:5]), p[:11]),
                np_conv.constants(*(v[i] for i in ins[5:9]), p[11:21])]
    return []


def _check_constants(data):
    it = Interpreter(pack(data, "m.tflite", kernels="np", check_budget=False).binary, kernels="np")
    m, v = it.model, it._views
    checked = 0
    for op in m.ops:
        want = _expected_constants(m, op, v)
        got = [v[i] for i in op.inputs[BASE_INPUTS.get(op.opcode, len(op.inputs)):]]
        assert len(got) == len(want), f"op {op.index} ({op.name}): {len(got)} np constants, want {len(want)}"
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and np.array_equal(g.reshape(-1), w.reshape(-1)), \
                f"op {op.index} ({op.name}): stored np constant differs from the bind-time computation"
            checked += 1
    return checked


@pytest.mark.parametrize("name", MODELS)
def test_shared_model_np_constants_equal_bind_time_values(name):
    assert _check_constants(_shared(name)) > 0


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_model_np_constants_equal_bind_time_values(name):
    assert _check_constants(SMALL[name]) > 0


def test_fused_ops_are_made():
    """The small models exercise the fused kernels' input layout (else the tests above and
    below would check less than they claim)."""
    for name, op_name in (("conv_add", "CONV_2D_ADD"), ("ds_conv", "DS_CONV_2D")):
        it = Interpreter(pack(SMALL[name], name, kernels="np", check_budget=False).binary, kernels="np")
        assert op_name in [op.name for op in it.model.ops], name


def _strip_np_constants(monkeypatch):
    """Make the interpreter see files without the np-only constants (as an older packer
    wrote them): every op keeps only its base inputs, so bind computes the constants."""
    real = reader.parse

    def parse(buf, check_crc=True):
        m = real(buf, check_crc)
        for op in m.ops:
            if op.opcode in BASE_INPUTS:
                op.inputs = op.inputs[:BASE_INPUTS[op.opcode]]
        return m
    monkeypatch.setattr(interp_mod.reader, "parse", parse)


@pytest.mark.parametrize("name", ["ic_resnet8_int8", "kws_dscnn_int8", "conv_add", "ds_conv", "sub", "mul"])
def test_precomputed_and_bind_time_constants_run_identically(name, monkeypatch):
    data = SMALL[name] if name in SMALL else _shared(name)
    binary = pack(data, name, kernels="np", check_budget=False).binary
    packed = Interpreter(binary, kernels="np")
    rng = np.random.default_rng(0)
    trials = [[random_input(d["shape"], d["dtype"], rng) for d in packed.input_details()] for _ in range(3)]
    want = [run_edge(packed, xs) for xs in trials]
    _strip_np_constants(monkeypatch)
    computed = Interpreter(binary, kernels="np")
    assert all(len(op.inputs) == BASE_INPUTS.get(op.opcode, len(op.inputs)) for op in computed.model.ops)
    for xs, w in zip(trials, want):
        for g, e in zip(run_edge(computed, xs), w):
            assert np.array_equal(g, e)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_ref_kernels_ignore_np_constants(name):
    """A file packed for the numpy set also runs on the pure-Python set, bit-exact (the
    conformance tests pack each set separately, so this layout is checked only here)."""
    data = SMALL[name]
    check_bit_exact(data, trials=2, kernel_sets=("np",))
    binary = pack(data, name, kernels="np", check_budget=False).binary
    it_np, it_ref = Interpreter(binary, kernels="np"), Interpreter(binary, kernels="ref")
    rng = np.random.default_rng(1)
    for _ in range(2):
        xs = [random_input(d["shape"], d["dtype"], rng) for d in it_np.input_details()]
        for g, e in zip(run_edge(it_ref, xs), run_edge(it_np, xs)):
            assert np.array_equal(g, e)



# -- the reader's C tables (load time of every set when the extension is built) ------------
def _parse_both(binary, monkeypatch):
    """reader.parse with the C reader (whole-file parse_model; then the C tensor and op tables
    alone) and with the Python loops: a result being the model's tables and the tensors' and ops'
    attributes, or the ModelFormatError's message."""
    out = []
    for c in (2, 1, 0):
        monkeypatch.setattr(reader, "_c_parse_model", TABLES[2] if c == 2 else None)
        monkeypatch.setattr(reader, "_c_tensor_table", TABLES[0] if c else None)
        monkeypatch.setattr(reader, "_c_op_table", TABLES[1] if c else None)
        try:
            m = reader.parse(binary, check_crc=False)
            out.append((m.constant_bytes, m.sections, m.plan, m.inputs, m.outputs, m.arena_bytes, m.lower_bound,
                        m.state_bytes, m.meta, len(m.tensors),
                        [repr(sorted(vars(x).items())) for x in list(m.tensors) + list(m.ops)]))  # repr: NaN
        except ModelFormatError as e:
            out.append(str(e))
    return out


TABLES = (reader._c_tensor_table, reader._c_op_table, reader._c_parse_model)


@pytest.mark.parametrize("sid", [F.SEC_TENSORS, F.SEC_OPS, F.SEC_PLAN, F.SEC_IO, F.SEC_STRINGS, 0])
def test_c_tables_equal_the_python_loops(sid, monkeypatch):
    """Same objects on every shared model and the same outcome (objects or message) on damaged
    tensor, op, plan, IO and string tables and on a damaged header or section directory (sid 0):
    the C reader only ever accepts what the Python loops accept."""
    if None in TABLES:
        pytest.skip("C extension not built")
    rng = np.random.default_rng(7 + sid)
    damaged = 0
    for name in MODELS:
        binary = pack(_shared(name), name, kernels="c", check_budget=False).binary
        a, b, c = _parse_both(binary, monkeypatch)
        assert a == b == c and not isinstance(a, str), name
        m = reader.parse(binary)
        off, length = m.sections[sid] if sid else (4, F.HEADER_SIZE - 4 + F.SECTION_SIZE * len(m.sections))
        for _ in range(150):
            bad = bytearray(binary)
            for i in rng.integers(off, off + length, rng.integers(1, 4)):
                bad[i] = int(rng.choice([0, 0x80, 0xFF, rng.integers(0, 256)]))
            a, b, c = _parse_both(bytes(bad), monkeypatch)
            assert a == b == c, name
            damaged += isinstance(a, str)
    # the damage reaches the checks, not only names, scales, params and plan entries
    assert damaged > (25 if sid == F.SEC_PLAN else 100)


def test_c_crc_fold_equals_zlib():
    """The reader's folded CRC-32 (x86-64 PCLMULQDQ, 512-bit VPCLMULQDQ where the CPU has it, and
    the 128-bit fold alone) equals binascii.crc32 at every length and still rejects a file with
    one flipped constant byte."""
    if reader._c_crc_fold is None:
        pytest.skip("C extension not built")
    rng = np.random.default_rng(5)

    def narrow(mv):  # the 128-bit fold, as on a CPU without VPCLMULQDQ
        r = reader._c_crc_fold(mv, False)
        return binascii.crc32(mv) if r is None else binascii.crc32(mv[r[1]:], binascii.crc32(r[0], 0xFFFFFFFF))
    for n in list(range(0, 600)) + [int(k) for k in rng.integers(600, 70000, 60)]:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert reader._crc32(memoryview(data)) == binascii.crc32(data) == narrow(memoryview(data)), n
    binary = bytearray(pack(_shared("ad_autoencoder_int8"), "ad", kernels="c", check_budget=False).binary)
    off, length = reader.parse(bytes(binary)).sections[F.SEC_CONSTS]
    binary[off + length // 2] ^= 1
    with pytest.raises(ModelFormatError, match="CRC32 mismatch"):
        reader.parse(bytes(binary))
