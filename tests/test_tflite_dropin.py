"""edge_rt.tflite, the drop-in for tflite-runtime: a typical classification script ported by its
import line alone gets TFLite Micro's outputs exactly; details equal LiteRT's (every key); the
.tflite tensor indices; signatures; the pack cache; one-line ValueError-compatible errors."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import edge_rt
from edge_rt import tflite
from edge_rt.compiler.pack import pack
from edge_rt.testing import shared_models
from edge_rt.testing.reference import TFLM, litert_module
from edge_rt.testing.tflite_builder import ModelBuilder

MODELS = ("kws_dscnn_int8", "ic_resnet8_int8", "ad_autoencoder_int8", "micro_speech_int8", "hello_world_int8")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A typical tflite-runtime classification script, kept verbatim; only its import line changes.
IMPORT = "from tflite_runtime.interpreter import Interpreter\n"
SCRIPT = IMPORT + '''import numpy as np


def classify(model_path, x):
    interpreter = Interpreter(model_path=model_path)
    interpreter.allocate_tensors()
    input_details = interpreter.get_input_details()
    output_details = interpreter.get_output_details()
    scale, zero_point = input_details[0]["quantization"]
    dtype = input_details[0]["dtype"]
    if scale:
        info = np.iinfo(dtype)
        x = np.clip(np.round(x / scale + zero_point), info.min, info.max)
    x = x.astype(dtype).reshape(input_details[0]["shape"])
    interpreter.set_tensor(input_details[0]["index"], x)
    interpreter.invoke()
    raw = interpreter.get_tensor(output_details[0]["index"])
    scale, zero_point = output_details[0]["quantization"]
    scores = (raw.astype(np.float32) - zero_point) * scale if scale else raw
    return x, raw, scores, int(np.argmax(scores))
'''
LITERT_REF = ("from ai_edge_litert.interpreter import Interpreter as _LiteRT, OpResolverType\n"
              "def Interpreter(**kw):\n"
              "    return _LiteRT(experimental_op_resolver_type=OpResolverType.BUILTIN_REF, **kw)\n")
EDGE_RT = "from edge_rt.tflite import Interpreter\n"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_RT_CACHE", str(tmp_path / "cache"))


def _ported(import_line):
    assert SCRIPT.count(IMPORT) == 1
    ns = {}
    exec(compile(SCRIPT.replace(IMPORT, import_line), "classify.py", "exec"), ns)
    return ns["classify"]


def _float_io_model():
    """float32 in -> QUANTIZE -> FULLY_CONNECTED -> DEQUANTIZE -> float32 out (fold_io_quantize)."""
    rng = np.random.default_rng(7)
    b = ModelBuilder()
    x = b.tensor("x", (1, 12), "float32")
    xq = b.tensor("xq", (1, 12), "int8", 0.03, -5)
    w = b.const("w", rng.integers(-127, 128, (4, 12)).astype(np.int8), scale=0.02)
    bias = b.const("b", rng.integers(-300, 300, 4).astype(np.int32), scale=0.0006)
    yq = b.tensor("yq", (1, 4), "int8", 0.1, 3)
    y = b.tensor("y", (1, 4), "float32")
    b.op("QUANTIZE", [x], [xq])
    b.op("FULLY_CONNECTED", [xq, w, bias], [yq], "FullyConnectedOptions", FusedActivationFunction="NONE")
    b.op("DEQUANTIZE", [yq], [y])
    return b.build([x], [y])


def _add_model(signatures=None):
    b = ModelBuilder()
    x = b.tensor("x", (1, 6), "int8", 0.05, 3)
    y = b.tensor("y", (1, 6), "int8", 0.04, -7)
    z = b.tensor("z", (1, 6), "int8", 0.07, 1)
    b.op("ADD", [x, y], [z], "AddOptions", FusedActivationFunction="NONE")
    if signatures:
        signatures = {"serving_default": {"inputs": {"b_in": y, "a_in": x}, "outputs": {"sum": z}}}
    return b.build([x, y], [z], signatures=signatures)


def _model(tmp_path, name):
    if name == "float_io":
        path = tmp_path / "float_io.tflite"
        path.write_bytes(_float_io_model())
        return str(path), path.read_bytes()
    data = shared_models.load(name)
    return os.path.join(shared_models.SHARED_MODELS, name + ".tflite"), data


def _real_range(d, rng):
    """Random float inputs spanning the input's representable range (or [-3, 3] for float)."""
    scale, zp = d["quantization"]
    if not scale:
        return rng.uniform(-3, 3, d["shape"]).astype(np.float32)
    info = np.iinfo(d["dtype"])
    return rng.uniform((info.min - zp) * scale, (info.max - zp) * scale, d["shape"]).astype(np.float32)


def _same(a, b, where="details"):
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: {a} vs {b}"
        for i, (p, q) in enumerate(zip(a, b)):
            _same(p, q, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b), f"{where}: {a!r} vs {b!r}"
    else:
        assert a == b and type(a) is type(b), f"{where}: {a!r} vs {b!r}"


@pytest.mark.skipif(litert_module() is None, reason="LiteRT not installed")
@pytest.mark.parametrize("name", MODELS + ("float_io",))
def test_ported_classification_script_gets_tflite_micro_outputs(tmp_path, name):
    path, data = _model(tmp_path, name)
    reference, ours = _ported(LITERT_REF), _ported(EDGE_RT)
    tflm = TFLM(data)
    d = tflite.Interpreter(model_path=path).get_input_details()[0]
    rng = np.random.default_rng(11)
    for _ in range(3):
        x = _real_range(d, rng)
        q_ref, raw_ref, _, _ = reference(path, x)
        q, raw, scores, label = ours(path, x)
        assert q.dtype == q_ref.dtype and np.array_equal(q, q_ref)  # the script fed both the same bytes
        want = tflm(q)[0]
        assert raw.dtype == want.dtype and raw.shape == want.shape
        assert np.array_equal(raw, want), f"{name}: edge_rt differs from TFLite Micro"
        assert label == int(np.argmax(scores)) and raw_ref.shape == raw.shape


@pytest.mark.skipif(litert_module() is None, reason="LiteRT not installed")
@pytest.mark.parametrize("name", MODELS + ("float_io",))
def test_details_equal_litert(tmp_path, name):
    path, data = _model(tmp_path, name)
    mod = litert_module()
    ref = mod.Interpreter(model_path=path, experimental_op_resolver_type=mod.OpResolverType.BUILTIN_REF)
    ref.allocate_tensors()
    ours = tflite.Interpreter(model_path=path)
    _same(ours.get_input_details(), ref.get_input_details(), "input details")
    _same(ours.get_output_details(), ref.get_output_details(), "output details")
    _same(ours.get_signature_list(), ref.get_signature_list(), "signature list")
    if name == "float_io":
        d = ours.get_input_details()[0]
        assert d["dtype"] is np.float32 and d["quantization"] == (0.0, 0)


def test_repeated_invokes_and_input_readback_as_tflite():
    """TFLite keeps inputs across invokes: the drop-in re-copies what the plan consumed."""
    data = shared_models.load("kws_dscnn_int8")
    it = tflite.Interpreter(model_content=data)
    assert it.edge_rt.consumed_inputs == (0,)
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    x = np.random.default_rng(2).integers(-128, 128, d["shape"]).astype(np.int8)
    it.set_tensor(d["index"], x)
    want = TFLM(data)(x)[0]
    for _ in range(3):
        it.invoke()
        assert np.array_equal(it.get_tensor(o["index"]), want)
        assert np.array_equal(it.get_tensor(d["index"]), x)
    # tensor(): views of the arena; calling an input's function counts as setting it
    out = it.tensor(o["index"])
    it.tensor(d["index"])()[...] = x
    it.invoke()
    assert np.array_equal(out(), want) and out().base is not None
    with pytest.raises(edge_rt.InputError, match="holds no value"):  # a view's write is not kept
        it.invoke()


def test_float_io_tensor_and_signatures_of_a_builder_model(tmp_path):
    it = tflite.Interpreter(model_content=_float_io_model())
    with pytest.raises(tflite.TensorValueError, match="no float32 buffer"):
        it.tensor(it.get_input_details()[0]["index"])
    x = np.random.default_rng(4).uniform(-3, 3, (1, 12)).astype(np.float32)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    o = it.get_output_details()[0]["index"]
    assert np.array_equal(it.tensor(o)(), it.get_tensor(o))
    with pytest.raises(tflite.TensorValueError, match="0 Signatures"):
        it.get_signature_runner()


@pytest.mark.skipif(litert_module() is None, reason="LiteRT not installed")
@pytest.mark.parametrize("source", ["tflite", "ert"])
def test_signature_runner(tmp_path, source):
    data = _add_model(signatures=True)
    mod = litert_module()
    ref = mod.Interpreter(model_content=data, experimental_op_resolver_type=mod.OpResolverType.BUILTIN_REF)
    ref.allocate_tensors()
    content = data if source == "tflite" else pack(data, "add.tflite").binary
    it = tflite.Interpreter(model_content=content)
    assert it.loaded_from == ("packed" if source == "tflite" else "ert")
    _same(it.get_signature_list(), ref.get_signature_list(), "signature list")
    runner, ref_runner = it.get_signature_runner(), ref.get_signature_runner()
    _same(runner.get_input_details(), ref_runner.get_input_details(), "signature input details")
    _same(runner.get_output_details(), ref_runner.get_output_details(), "signature output details")
    rng = np.random.default_rng(5)
    a, b = (rng.integers(-128, 128, (1, 6)).astype(np.int8) for _ in range(2))
    got = runner(b_in=b, a_in=a)
    assert list(got) == ["sum"] and np.array_equal(got["sum"], TFLM(data)(a, b)[0])
    with pytest.raises(tflite.TensorValueError, match="Invalid Input name"):
        runner(a_in=a, c_in=b)
    with pytest.raises(tflite.TensorValueError, match="expected 2 vs provided 1"):
        runner(a_in=a)
    with pytest.raises(tflite.TensorValueError, match="Invalid signature_key"):
        it.get_signature_runner("nope")


def test_model_path_may_be_a_pathlib_path(tmp_path):
    path, data = _model(tmp_path, "hello_world_int8")
    ert = tmp_path / "hw.ert"
    ert.write_bytes(pack(data, "hw.tflite").binary)
    for p, how in ((pathlib.Path(path), "packed"), (pathlib.Path(path), "cache"), (ert, "ert")):
        it = tflite.Interpreter(model_path=p)
        assert it.loaded_from == how
        it.set_tensor(0, np.array([[-100]], np.int8))
        it.invoke()
        assert np.array_equal(it.get_tensor(9), TFLM(data)(np.array([[-100]], np.int8))[0])


def test_signature_of_a_real_model_runs_as_tflite_micro():
    data = shared_models.load("hello_world_int8")
    it = tflite.Interpreter(model_content=data)
    assert it.get_signature_list() == {"serving_default": {"inputs": ["dense_input"], "outputs": ["dense_2"]}}
    x = np.array([[37]], np.int8)
    assert np.array_equal(it.get_signature_runner("serving_default")(dense_input=x)["dense_2"], TFLM(data)(x)[0])


def test_cache(tmp_path, monkeypatch):
    data = _add_model()
    first = tflite.Interpreter(model_content=data)
    path = tflite.cache_path(data)
    assert first.loaded_from == "packed" and os.path.isfile(path)
    assert path.startswith(str(tmp_path / "cache")) and edge_rt.__version__ in os.path.basename(path)
    from edge_rt.compiler import pack as pack_module

    def refuse(*a, **k):
        raise AssertionError("packed again despite the cache")
    with monkeypatch.context() as mp:
        mp.setattr(pack_module, "pack", refuse)
        again = tflite.Interpreter(model_content=data)
        assert again.loaded_from == "cache" and isinstance(again.edge_rt._keep, tuple)  # mmapped
    other = bytearray(data)
    other[data.index(b"edge_rt test model")] ^= 0x20  # another model's bytes: another key
    assert tflite.cache_path(bytes(other)) != path
    assert tflite.Interpreter(model_content=bytes(other)).loaded_from == "packed"
    with open(path, "wb") as f:  # a damaged entry is packed again and replaced
        f.write(b"garbage")
    assert tflite.Interpreter(model_content=data).loaded_from == "packed"
    assert tflite.Interpreter(model_content=data).loaded_from == "cache"
    blocker = tmp_path / "not_a_dir"
    blocker.write_bytes(b"")
    monkeypatch.setenv("EDGE_RT_CACHE", str(blocker / "sub"))  # unwritable: no cache, no failure
    for _ in range(2):
        assert tflite.Interpreter(model_content=data).loaded_from == "packed"


def test_no_compiler_import_for_an_ert_or_a_cache_hit(tmp_path):
    path, data = _model(tmp_path, "kws_dscnn_int8")
    tflite.Interpreter(model_path=path)  # fills the cache
    ert = tmp_path / "kws.ert"
    ert.write_bytes(pack(data, "kws.tflite").binary)
    code = ("import sys\nfrom edge_rt.tflite import Interpreter\n"
            f"a = Interpreter(model_path={path!r})\nb = Interpreter(model_path={str(ert)!r})\n"
            "print(a.loaded_from, b.loaded_from, 'edge_rt.compiler' in sys.modules, 'tflite' in sys.modules)\n")
    env = dict(os.environ, PYTHONPATH=ROOT, EDGE_RT_CACHE=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["cache", "ert", "False", "False"]


def test_errors_are_one_line_value_errors(tmp_path):
    it = tflite.Interpreter(model_content=shared_models.load("kws_dscnn_int8"))
    d = it.get_input_details()[0]
    cases = [
        (lambda: it.set_tensor(d["index"], np.zeros(d["shape"], np.float32)), "type FLOAT32 but expected type INT8"),
        (lambda: it.set_tensor(d["index"], np.zeros((1, 49, 10), np.int8)), "Dimension mismatch"),
        (lambda: it.set_tensor(34, np.zeros((1, 12), np.int8)), "is an output"),
        (lambda: it.get_tensor(5), "not an input or output"),
        (lambda: it.tensor(500), "not an input or output"),
        (lambda: it.resize_tensor_input(d["index"], [2, 49, 10, 1]), "fixed shapes"),
        (lambda: tflite.Interpreter(), "without `model_path` or `model_content`"),
        (lambda: tflite.Interpreter(model_path="a", model_content=b"b"), "Can't both"),
        (lambda: tflite.Interpreter(model_content=b"x" * 64, experimental_delegates=[object()]), "no TFLite delegates"),
        (lambda: tflite.load_delegate("libedgetpu.so.1"), "no TFLite delegates"),
        (lambda: tflite.Interpreter(model_content=b"x", experimental_preserve_all_tensors=True), "intermediate"),
        (lambda: tflite.Interpreter(model_content=b"x", num_threads=0), "num_threads"),
    ]
    for call, text in cases:
        with pytest.raises(ValueError) as e:
            call()
        assert isinstance(e.value, edge_rt.EdgeRTError) and text in str(e.value) and "\n" not in str(e.value)
    it.resize_tensor_input(d["index"], [1, 49, 10, 1])  # the same shape is accepted
    for call, text in [(lambda: tflite.Interpreter(model_content=b"\0" * 64), "neither a TFLite model"),
                       (lambda: tflite.Interpreter(model_path=tmp_path / "nope.tflite"), "cannot open model")]:
        with pytest.raises(edge_rt.EdgeRTError, match=text):
            call()
