"""tools/memory_bench.py: our plans against TFLite Micro, measured in the test (TFLM is run by
the tool itself), and a model that does not pack is reported rather than crashing the run."""
import importlib.util
import json
import os

import numpy as np
import pytest

from edge_rt.testing.tflite_builder import ModelBuilder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "models")


def _tool():
    spec = importlib.util.spec_from_file_location("memory_bench", os.path.join(ROOT, "tools", "memory_bench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(capsys, argv):
    capsys.readouterr()
    assert _tool().main(argv) == 0
    return capsys.readouterr().out


def test_hello_world_beats_tflite_micro(capsys):
    pytest.importorskip("tflite_micro")
    path = os.path.join(ROOT, "models", "hello_world_int8.tflite")
    (row,) = json.loads(_run(capsys, [path, "--dir", "/nonexistent", "--no-synthetic", "--json"]))
    ref, t = row["ref"], row["tflm"]
    assert ref["chain"] and ref["arena"] == ref["lower_bound"]
    assert ref["arena"] <= t["head"] and ref["arena"] < t["min_arena"]
    # head and total are what TFLM prints; the smallest arena it runs in also holds the
    # temporaries it frees after allocation, so it is at least the recorded total
    assert t["head"] <= t["total"] <= t["min_arena"]
    assert row["np"]["arena"] >= ref["arena"]      # numpy kernels add scratch
    assert all(row["targets"].values())


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/models not present")
def test_every_shared_int8_model_meets_the_targets(capsys):
    pytest.importorskip("tflite_micro")
    rows = json.loads(_run(capsys, ["--json"]))
    names = {r["model"] for r in rows}
    assert "hello_world_int8" in names and not any("float" in n for n in names)
    assert {"mobilenet_v1_96_025", "mobilenet_v2_48", "dscnn_1d"} <= names   # the synthetic ones
    sixty = {r["model"] for r in rows if "<= 0.6 head" in r.get("targets", {})}
    assert sixty == {"mobilenet_v1_96_025", "kws_dscnn_int8", "ic_resnet8_int8"}
    for r in rows:
        if "unsupported" in r["ref"]:
            continue  # ops still landing; reported as such in the table
        assert r["targets"] and all(r["targets"].values()), (r["model"], r["targets"])


def test_unsupported_model_is_reported(tmp_path, capsys):
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "int8", 0.1, 0)
    w = b.const("w", np.ones((3, 4), np.int8), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 3), "int16", 0.1, 0)   # int16 FC output: not supported
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    p = tmp_path / "odd.tflite"
    p.write_bytes(b.build([x], [y]))
    out = _run(capsys, [str(p), "--dir", "/nonexistent", "--no-synthetic", "--no-tflm"])
    assert "odd" in out and "unsupported: " in out and "FULLY_CONNECTED" in out


C_MODELS = ("hello_world_int8", "micro_speech_int8", "ad_autoencoder_int8", "kws_dscnn_int8", "ic_resnet8_int8")


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/models not present")
def test_c_arena_within_tflite_micro_head(tmp_path):
    """The C kernel set's plan (scratch included, every op on C) fits TFLite Micro's head on the
    five shared models and the synthetic MobileNet-v1 96x96; the head is TFLite Micro's own figure,
    measured by the tool's probe here."""
    pytest.importorskip("tflite_micro")
    from edge_rt.testing.mobilenets import BENCH_MODELS
    tool = _tool()
    paths = [os.path.join(SHARED, n + ".tflite") for n in C_MODELS]
    mb = tmp_path / "mobilenet_v1_96_025.tflite"
    mb.write_bytes(BENCH_MODELS["mobilenet_v1_96_025"]())
    for path in paths + [str(mb)]:
        with open(path, "rb") as f:
            c = tool.c_plan(f.read(), os.path.basename(path))
        head = tool.tflm_memory(path)["head"]
        assert c["all_c"], path
        assert c["arena"] - c["state"] <= head, (path, c["arena"], head)
