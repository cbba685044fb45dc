"""edge-rt quantize --activations int16 (TFLite's 16x8 scheme) on the four real float models
and the builder models: the int16x8 .tflite runs in TFLite Micro and edge_rt with 0 LSB
difference (np and ref kernel sets; packed for c its int16 ops resolve to np, for viper to ref),
and its SQNR against the float model beats the int8 model's on the same held-out samples.
Calibration sets are small (N_CAL) to keep the file fast; figures on the full sets are
in docs/quantize.md (tools/quantize_eval.py --int16)."""
import functools
import json
import os

import numpy as np
import pytest

from edge_rt.compiler.importers.tflite import import_tflite
from edge_rt.compiler.kernel_sets import c_available
from edge_rt.compiler.pack import pack
from edge_rt.compiler.quantize import calibrate, load_float, quantize
from edge_rt.compiler.quantize.graph import from_tflite
from edge_rt.compiler.quantize.report import accuracy
from edge_rt.errors import EdgeRTError, UnsupportedModelError
from edge_rt.host.cli import main
from edge_rt.interpreter import Interpreter
from edge_rt.testing import shared_models
from edge_rt.testing.conformance import check_bit_exact, run_edge
from edge_rt.testing.float_models import float_cnn, float_mlp
from edge_rt.testing.reference import TFLM, LiteRT

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "quantize")
REAL = {"kws": "kws_dscnn", "ic": "ic_resnet8", "ad": "ad_autoencoder", "hello": "hello_world"}
# few samples keep the file fast; the autoencoder (cheap to run) gets its whole calibration
# set: on 48 samples its held-out inputs leave the calibrated input range, and the clipping
# then costs int8 and int16 alike
N_CAL, N_EVAL = {"kws": 48, "ic": 48, "ad": 128, "hello": 48}, 32


def _samples(key, split, n):
    if key == "hello":  # the sine model: x in [0, 2 pi]; calibration and evaluation points differ
        return np.random.default_rng(split == "eval").uniform(0, 2 * np.pi, (n, 1)).astype(np.float32)
    return np.load(os.path.join(DATA, f"{key}_{split}.npy"))[:n].astype(np.float32)


@functools.lru_cache(maxsize=None)
def _real(key):
    """(float graph, int16 model with int16 I/O, int16 model with float I/O, int8 model)."""
    fg = from_tflite(shared_models.load(REAL[key] + "_float32"), REAL[key])
    cal = _samples(key, "cal", N_CAL[key])
    return (fg, quantize(fg, cal, activations="int16"), quantize(fg, cal, activations="int16", io="float"),
            quantize(fg, cal))


def _int16_inputs(r, xs):
    t = r.int8_graph.tensors[r.int8_graph.inputs[0]]
    s, z = t.qparams()
    assert z == 0
    return [(np.clip(np.round(x / s), -32768, 32767).astype(np.int16).reshape(t.shape),) for x in xs]


def _check_16x8_spec(r):
    g, problems = import_tflite(r.tflite)
    assert not problems
    for op in g.ops:
        for t in op.outputs:
            ten = g.tensors[t]
            if ten.dtype != "float32":
                assert ten.dtype == "int16" and ten.qparams()[1] == 0, (op.type, ten.dtype, ten.qparams())
        if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            x, w, b = (g.tensors[t] for t in op.inputs)
            axis = 3 if op.type == "DEPTHWISE_CONV_2D" else 0
            assert w.dtype == "int8" and len(w.scale) == w.shape[axis] and not w.zero_point.any()
            assert b.dtype == "int64"
            np.testing.assert_allclose(b.scale, x.scale[0] * w.scale, rtol=1e-6)
        if op.type == "SOFTMAX":
            assert g.tensors[op.outputs[0]].qparams() == (1 / 32768, 0)
    return g


# ref on every model: ic_resnet8's ref run takes about 5 s per input here, so one input each
@pytest.mark.parametrize("key", sorted(REAL))
def test_real_model_int16_bit_exact(key):
    fg, r16, r16f, _ = _real(key)
    g = _check_16x8_spec(r16)
    assert g.tensors[g.inputs[0]].dtype == "int16" and g.tensors[g.outputs[0]].dtype == "int16"
    ev = _samples(key, "eval", 3)
    xs = _int16_inputs(r16, ev)
    sets = ("np", "c") if c_available() else ("np",)
    rep = check_bit_exact(r16.tflite, inputs=xs, kernel_sets=sets)
    assert all(set(s) == {"np"} for s in rep["op_kernel_sets"].values()), rep["op_kernel_sets"]  # c -> np
    rep = check_bit_exact(r16.tflite, inputs=xs[:1], kernel_sets=("ref",))
    assert set(rep["op_kernel_sets"]["ref"]) == {"ref"}
    # packed for viper every int16 op resolves to ref (none of these models has a PAD or
    # CONCATENATION, the byte copies viper runs for int16), recorded in META op_kernels
    res = pack(r16.tflite, "m.tflite", kernels="viper", check_budget=False)
    it = Interpreter(res.binary)
    assert it.model.meta["op_kernels"] == ["ref"] * len(res.graph.ops)
    assert [a.tolist() for a in run_edge(it, xs[1])] == [b.tolist() for b in TFLM(r16.tflite)(*xs[1])]
    # float I/O: QUANTIZE float32 -> int16 in front, DEQUANTIZE int16 -> float32 behind
    gf = _check_16x8_spec(r16f)
    first, last = gf.ops[0], gf.ops[-1]
    assert first.type == "QUANTIZE" and gf.tensors[first.inputs[0]].dtype == "float32"
    assert gf.tensors[first.outputs[0]].dtype == "int16"
    assert last.type == "DEQUANTIZE" and gf.tensors[last.inputs[0]].dtype == "int16"
    shape = fg.tensors[fg.inputs[0]].shape
    check_bit_exact(r16f.tflite, inputs=[(x.reshape(shape),) for x in ev[:2]], kernel_sets=("np",))
    # LiteRT runs it too, but is no oracle here: its int16x8 results differ from TFLite Micro's
    # (hello_world, 2048 inputs: up to 17 LSB at the output, three FULLY_CONNECTED layers)
    y = LiteRT(r16.tflite, "ref")(*xs[0])[0]
    assert y.shape == tuple(g.tensors[g.outputs[0]].shape) and y.dtype == np.int16


@pytest.mark.parametrize("key", sorted(REAL))
def test_real_model_int16_sqnr_beats_int8(key):
    """Both models measured on the same held-out samples; int16 must come out higher."""
    fg, r16, r16f, r8 = _real(key)
    rep = accuracy(fg, {"int8": r8.tflite, "int16": r16.tflite, "int16_float_io": r16f.tflite},
                   _samples(key, "eval", N_EVAL))
    out = rep["outputs"][0]
    assert out["int16"]["sqnr_db"] > out["int8"]["sqnr_db"], out
    assert out["int16_float_io"]["sqnr_db"] > out["int8"]["sqnr_db"], out
    # no top-1 claim: near-tie predictions flip either way (docs/quantize.md: kws on 128 samples)


@pytest.mark.parametrize("model", ["cnn", "mlp"])
@pytest.mark.parametrize("io", ["int16", "float"])
def test_builder_models_int16_bit_exact(model, io):
    """float_cnn: conv, depthwise (RELU6), ADD, pools, FC, SOFTMAX; float_mlp (no MEAN):
    LOGISTIC and TANH on their 2^-15 output grids meeting a CONCATENATION through int16
    requantizing QUANTIZEs."""
    data = float_cnn() if model == "cnn" else float_mlp(mean=False)
    g = from_tflite(data)
    x = np.random.default_rng(2).standard_normal((48,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.float32)
    r = quantize(data, x, activations="int16", io=io)
    q = _check_16x8_spec(r)
    types = [op.type for op in q.ops]
    for op in q.ops:
        if op.type in ("LOGISTIC", "TANH"):
            assert q.tensors[op.outputs[0]].qparams() == (2.0 ** -15, 0)
    if model == "mlp":
        cat = q.ops[types.index("CONCATENATION")]
        assert len({q.tensors[t].qparams() for t in cat.inputs + cat.outputs}) == 1
        assert types.count("QUANTIZE") == 2 + (io == "float")
    check_bit_exact(r.tflite, trials=3)


def test_sigmoid_input_scale_capped():
    """A LOGISTIC/TANH input whose calibrated range would need an int16 scale above TFLite
    Micro's limit (2.6666: the input multiplier must fit 15 bits) gets scale 2.6 instead."""
    data = float_mlp(mean=False)
    x = np.random.default_rng(3).standard_normal((32, 16)).astype(np.float32) * 1e6
    with np.errstate(over="ignore"):  # the float executor's exp(-x) at x of -1e6: sigmoid 0, right
        r = quantize(data, x, activations="int16", method="minmax")
    g = r.int8_graph
    for op in g.ops:
        if op.type in ("LOGISTIC", "TANH"):
            s = g.tensors[op.inputs[0]].qparams()[0]
            assert abs(s - 2.6) < 1e-6, (op.type, s)
    check_bit_exact(r.tflite, trials=2, kernel_sets=("np",))


def test_int16_refusals(tmp_path, capsys):
    x = np.random.default_rng(4).standard_normal((16, 16)).astype(np.float32)
    with pytest.raises(UnsupportedModelError) as e:
        quantize(float_mlp(), x, activations="int16")
    assert str(e.value) == ("--activations int16: no int16 kernels for MEAN (int16 ops: see `edge-rt ops`); "
                            "quantize with --activations int8")
    with pytest.raises(EdgeRTError, match="--io int16 does not fit --activations int8"):
        quantize(float_mlp(), x, io="int16")
    with pytest.raises(EdgeRTError, match="--activations 'int4' unknown"):
        quantize(float_mlp(), x, activations="int4")
    src = tmp_path / "mlp.tflite"
    src.write_bytes(float_mlp())
    np.save(tmp_path / "cal.npy", x)
    assert main(["quantize", str(src), "--calibration", str(tmp_path / "cal.npy"), "--activations", "int16"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no int16 kernels for MEAN" in err[0], err


def test_cli_int16_report(tmp_path, capsys):
    src = tmp_path / "cnn.tflite"
    src.write_bytes(float_cnn())
    g = from_tflite(float_cnn())
    x = np.random.default_rng(5).standard_normal((40,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.float32)
    np.save(tmp_path / "cal.npy", x)
    js = tmp_path / "rep.json"
    assert main(["quantize", str(src), "--calibration", str(tmp_path / "cal.npy"), "--activations", "int16",
                 "--io", "float", "--report", "--json", str(js)]) == 0
    s = capsys.readouterr().out
    assert "int16 ops" in s and "I/O float" in s and "SQNR" in s
    out = tmp_path / "cnn_int16.tflite"  # the default output name follows the activation dtype
    rep = json.loads(js.read_text())
    assert rep["activations"] == "int16" and rep["output"] == str(out)
    q, _ = import_tflite(out.read_bytes())
    assert q.tensors[q.inputs[0]].dtype == "float32" and q.ops[0].type == "QUANTIZE"
    check_bit_exact(out.read_bytes(), trials=2)


def test_cli_help_names_activations(capsys):
    with pytest.raises(SystemExit):
        main(["quantize", "--help"])
    h = capsys.readouterr().out
    assert "--activations {int8,int16}" in h and "{int8,int16,float}" in h


def test_mse_range16_symmetric_and_better_than_minmax():
    rng = np.random.default_rng(0)
    v = rng.laplace(size=200000) * 3 + 0.5
    h = np.histogram(v, bins=calibrate.BINS)[0]
    lo, hi = calibrate.mse_range16(h, float(v.min()), float(v.max()))
    assert lo == -hi and 0 < hi <= max(-v.min(), v.max())

    def err(a):
        s, _ = calibrate.grid16(-a, a)
        return float(np.mean((v - np.clip(np.round(v / s), -32768, 32767) * s) ** 2))
    assert err(hi) <= err(max(-v.min(), v.max()))
    # int16 clips far less than the int8 MSE choice does (its rounding error is 256x smaller)
    assert hi > calibrate.mse_range(h, float(v.min()), float(v.max()))[1]
