"""edge-rt quantize on float models built by the test helpers: the int8 .tflite follows
TFLite's int8 spec, runs in TFLite Micro, LiteRT and edge_rt (0 LSB vs TFLite Micro)."""
import json

import numpy as np
import pytest

from edge_rt.compiler.quantize import quantize
from edge_rt.compiler.quantize.calibrate import grid, load_samples, mse_range
from edge_rt.compiler.quantize.float_run import run
from edge_rt.compiler.quantize.graph import from_tflite
from edge_rt.errors import EdgeRTError, UnsupportedModelError
from edge_rt.host.cli import main
from edge_rt.testing.conformance import check_bit_exact
from edge_rt.testing.float_models import float_cnn, float_mlp
from edge_rt.testing.reference import LiteRT

MODELS = {"cnn": float_cnn, "mlp": float_mlp}


def _samples(data, n, seed):
    g = from_tflite(data)
    return np.random.default_rng(seed).standard_normal((n,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.float32)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_float_executor_matches_litert(model):
    data = MODELS[model]()
    x = _samples(data, 3, 1)
    got = run(from_tflite(data), [x])
    lr = LiteRT(data, "ref")
    for i in range(3):
        for g, w in zip(got, lr(x[i:i + 1])):
            np.testing.assert_allclose(g[i:i + 1], w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("method", ["minmax", "percentile", "mse"])
@pytest.mark.parametrize("io", ["int8", "float"])
def test_quantized_bit_exact_with_tflm(model, method, io):
    data = MODELS[model]()
    r = quantize(data, _samples(data, 48, 2), method=method, io=io)
    check_bit_exact(r.tflite, trials=3)
    LiteRT(r.tflite, "ref")(*[np.zeros(r.int8_graph.tensors[t].shape, r.int8_graph.tensors[t].dtype)
                              for t in r.int8_graph.inputs])


def test_int8_spec():
    """Per-channel symmetric weights (zp 0), int32 bias at s_in*s_w, fixed softmax grid,
    equal grids across pools and reshapes."""
    from edge_rt.compiler.importers.tflite import import_tflite
    r = quantize(float_cnn(), _samples(float_cnn(), 32, 3))
    g, problems = import_tflite(r.tflite)
    assert not problems
    seen = set()
    for op in g.ops:
        seen.add(op.type)
        if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            x, w, b = (g.tensors[t] for t in op.inputs)
            axis = 3 if op.type == "DEPTHWISE_CONV_2D" else 0
            assert w.dtype == "int8" and len(w.scale) == w.shape[axis] and w.quant_dim == axis
            assert not w.zero_point.any() and np.abs(w.data.astype(int)).max() == 127
            assert b.dtype == "int32"
            np.testing.assert_allclose(b.scale, x.scale[0] * w.scale, rtol=1e-6)
        if op.type in ("MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE"):
            assert g.tensors[op.inputs[0]].qparams() == g.tensors[op.outputs[0]].qparams()
        if op.type == "SOFTMAX":
            assert g.tensors[op.outputs[0]].qparams() == (1 / 256, -128)
        for t in op.outputs:
            assert g.tensors[t].dtype == "int8" and len(g.tensors[t].scale) == 1
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MAX_POOL_2D", "SOFTMAX"} <= seen


def test_fixed_grids_meet_concatenation():
    from edge_rt.compiler.importers.tflite import import_tflite
    r = quantize(float_mlp(), _samples(float_mlp(), 32, 4))
    g, _ = import_tflite(r.tflite)
    by_type = {op.type: op for op in g.ops}
    assert g.tensors[by_type["LOGISTIC"].outputs[0]].qparams() == (1 / 256, -128)
    assert g.tensors[by_type["TANH"].outputs[0]].qparams()[1] == 0
    cat = by_type["CONCATENATION"]
    grids = {g.tensors[t].qparams() for t in cat.inputs + cat.outputs}
    assert len(grids) == 1  # one grid, reached from the fixed ones through a requantizing QUANTIZE
    assert sum(op.type == "QUANTIZE" for op in g.ops) == 2


def test_grid_and_mse():
    s, z = grid(-1.0, 3.0)
    assert abs(s - 4 / 255) < 1e-7 and z == round(-128 + 1 / s)
    assert grid(0.5, 2.0)[1] == -128  # range widened to hold 0
    rng = np.random.default_rng(0)
    x = rng.laplace(size=200000)  # heavy tails: clipping some of them pays

    def err(lo, hi):
        s, z = grid(lo, hi)
        return float(np.mean((x - (np.clip(np.round(x / s) + z, -128, 127) - z) * s) ** 2))
    lo, hi = mse_range(np.histogram(x, bins=2048)[0], float(x.min()), float(x.max()))
    e_mse, e_minmax = err(lo, hi), err(float(x.min()), float(x.max()))
    e_pct = err(float(np.percentile(x, 0.01)), float(np.percentile(x, 99.99)))
    assert hi < x.max() and lo > x.min()
    assert e_mse < 0.9 * e_minmax and e_mse <= e_pct * 1.01


def test_load_samples(tmp_path):
    g = from_tflite(float_mlp())
    a = np.ones((5, 16), np.float32)
    np.save(tmp_path / "all.npy", a)
    assert load_samples(str(tmp_path / "all.npy"), g).shape == (5, 16)
    d = tmp_path / "dir"
    d.mkdir()
    np.save(d / "a.npy", np.ones(16, np.float32))
    np.save(d / "b.npy", np.ones((2, 1, 16), np.float32))
    assert load_samples(str(d), g).shape == (3, 16)
    np.save(tmp_path / "bad.npy", np.ones((4, 7)))
    with pytest.raises(EdgeRTError, match="shape"):
        load_samples(str(tmp_path / "bad.npy"), g)


def test_quantized_model_rejected():
    import os
    with open(os.path.join(os.path.dirname(__file__), "..", "models", "hello_world_int8.tflite"), "rb") as f:
        data = f.read()
    with pytest.raises(UnsupportedModelError, match="quantized already"):
        from_tflite(data)


def test_cli_quantize_report(tmp_path, capsys):
    src = tmp_path / "cnn.tflite"
    src.write_bytes(float_cnn())
    np.save(tmp_path / "cal.npy", _samples(float_cnn(), 40, 5))
    out, js = tmp_path / "cnn_int8.tflite", tmp_path / "rep.json"
    other = tmp_path / "other.tflite"
    other.write_bytes(quantize(float_cnn(), _samples(float_cnn(), 40, 6), method="minmax").tflite)
    assert main(["quantize", str(src), "-o", str(out), "--calibration", str(tmp_path / "cal.npy"),
                 "--method", "percentile", "--report", "--json", str(js), "--compare", str(other)]) == 0
    s = capsys.readouterr().out
    assert "SQNR" in s and "top-1 agreement" in s
    rep = json.loads(js.read_text())
    o = rep["outputs"][0]
    assert o["classifier"] and rep["samples"] == 10
    assert o["edge_rt"]["sqnr_db"] > 15 and o["compare"]["sqnr_db"] > 15
    check_bit_exact(out.read_bytes(), trials=2)


def test_cli_calibration_required(tmp_path, capsys):
    src = tmp_path / "mlp.tflite"
    src.write_bytes(float_mlp())
    assert main(["quantize", str(src)]) == 1
    assert "--calibration DATA is required" in capsys.readouterr().err
    assert main(["quantize", str(src), "-o", str(tmp_path / "q.tflite"), "--random-calibration", "8"]) == 0
    assert "warning: calibrating on 8 random samples" in capsys.readouterr().err


def test_softmax_input_keeps_its_maximum():
    from edge_rt.compiler.quantize import calibrate
    from edge_rt.compiler.quantize.passes import run_float_passes
    g, _ = run_float_passes(from_tflite(float_cnn()))
    st = calibrate.collect(g, _samples(float_cnn(), 32, 8))
    ranges = calibrate.choose_ranges(g, st, "mse")
    logits = [op.inputs[0] for op in g.ops if op.type == "SOFTMAX"][0]
    assert ranges[logits][1] == st.hi[logits]
    others = [t for t in ranges if t != logits and ranges[t][1] < st.hi[t]]
    assert others  # mse does clip elsewhere: the rule is specific to logits


def test_cli_quantize_onnx(tmp_path, capsys):
    pytest.importorskip("onnx")
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(3)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])],
        "c", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 5, 5])],
        [numpy_helper.from_array(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), "w")])
    src = tmp_path / "c.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(src))
    np.save(tmp_path / "cal.npy", rng.standard_normal((20, 2, 5, 5)).astype(np.float32))
    out = tmp_path / "c_int8.tflite"
    assert main(["quantize", str(src), "-o", str(out), "--calibration", str(tmp_path / "cal.npy"), "--report"]) == 0
    s = capsys.readouterr().out
    assert "pass fuse_activation: fused 1" in s and "SQNR" in s
    check_bit_exact(out.read_bytes(), trials=2)
