"""edge-rt bench and the per-op profile: they run end to end and report what they claim.
No timing assertions (benchmarks are not tests); correctness claims are checked against
TFLite Micro run here."""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from edge_rt import Interpreter
from edge_rt.host.bench import BLAS_ENV, RUNTIMES, child_env, missing_note
from edge_rt.host.cli_bench import (add_commands, add_profile_args, chain_model, format_overhead,
                               format_report, main, run_overhead, run_profile)
from edge_rt.compiler.pack import pack
from edge_rt.testing.reference import TFLM
from edge_rt.testing.tflite_builder import ModelBuilder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = os.path.join(ROOT, "models", "hello_world_int8.tflite")
OK_KEYS = ("median_us", "min_us", "n", "load_ms", "first_load_ms", "rss_kb", "rss_over_baseline_kb", "out_sha1")


def _check_runtime_entry(rt, v, n):
    if v["status"] == "ok":
        for k in OK_KEYS:
            assert k in v, (rt, k)
        assert v["n"] == n and v["median_us"] > 0 and v["load_ms"] > 0 and v["rss_kb"] > 0
    else:
        assert v["status"] == "skipped" and v["note"].startswith("skipped: "), (rt, v)


def test_bench_hello_world_json(capsys):
    assert main([HELLO, "--repeat", "3", "--warmup", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["settings"]["repeat"] == 3 and r["settings"]["threads"] == 1
    env = r["env"]
    assert env["baseline_rss_kb"] > 0 and "numpy" in env["blas"]
    assert isinstance(env["blas_env_unset"], dict) and env["keep_blas_env"] is False
    (m,) = r["models"]
    assert m["model"] == "hello_world_int8"
    assert m["macs"] == 1 * 16 + 16 * 16 + 16 * 1  # FC 1->16, 16->16, 16->1
    assert set(m["runtimes"]) == set(RUNTIMES)
    for rt, v in m["runtimes"].items():
        want_skip = missing_note(rt)
        assert (v["status"] == "skipped") == bool(want_skip), (rt, v)
        _check_runtime_entry(rt, v, 3)
    assert m["runtimes"]["edge_rt"]["status"] == "ok"
    for rt, v in m["runtimes"].items():
        if rt != "edge_rt" and v["status"] == "ok":
            assert m["ratios"][rt] == pytest.approx(m["runtimes"]["edge_rt"]["median_us"] / v["median_us"])
    if m["runtimes"]["tflm"]["status"] == "ok":
        # the same seeded input went to every runtime: ours must be bit-exact with TFLM
        assert m["runtimes"]["edge_rt"]["output_matches_tflm"] is True
    table = format_report(r)
    assert "hello_world_int8" in table and "ours/" in table and "load time" in table


def _float_fc_model() -> bytes:
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "float32")
    w = b.const("w", np.arange(12, dtype=np.float32).reshape(3, 4) / 10)
    y = b.tensor("y", (1, 3), "float32")
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions", FusedActivationFunction="NONE")
    return b.build(inputs=[x], outputs=[y])


@pytest.mark.skipif(missing_note("tflm") is not None, reason="tflite_micro not installed")
def test_bench_unsupported_model_peers_still_run(tmp_path, capsys):
    p = tmp_path / "float_fc.tflite"
    p.write_bytes(_float_fc_model())
    assert main([str(p), "--repeat", "2", "--warmup", "0", "--runtimes", "edge_rt,tflm", "--json"]) == 0
    (m,) = json.loads(capsys.readouterr().out)["models"]
    ours = m["runtimes"]["edge_rt"]
    assert ours["status"] == "unsupported" and ours["note"].startswith("unsupported: ")
    assert "\n" not in ours["note"]
    assert m["runtimes"]["tflm"]["status"] == "ok" and m["ratios"] == {}


def test_child_env_unsets_blas_vars_only_for_children(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    env, unset = child_env(3, keep_blas_env=False)
    assert "OPENBLAS_CORETYPE" not in env and unset == {"OPENBLAS_CORETYPE": "Haswell"}
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"  # never touched globally
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3"
    env, unset = child_env(1, keep_blas_env=True)
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and unset == {}
    assert set(BLAS_ENV) == {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}


def test_overhead_chain_models():
    data = chain_model(4)
    r = pack(data, "chain4.tflite", kernels="np", check_budget=False)
    it = Interpreter(r.binary)
    assert [op.name for op in it.model.ops] == ["FULLY_CONNECTED"] * 4
    rep = run_overhead(4, "FULLY_CONNECTED", repeat=3, warmup=0, runtimes=("edge_rt", "tflm"))
    o = rep["overhead"]
    assert o["ops"] == 4
    for rt, v in o["runtimes"].items():
        if v["status"] == "ok":
            assert set(v) >= {"one_op_us", "n_op_us", "per_op_us"}
            assert v["per_op_us"] == pytest.approx((v["n_op_us"] - v["one_op_us"]) / 3)
        else:
            assert v["note"].startswith("skipped")
    assert o["runtimes"]["edge_rt"]["status"] == "ok"
    assert "per-op overhead" in format_overhead(rep)


def _conv_fc_model(rng) -> bytes:
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 6, 3), "int8", scale=0.05, zero_point=-3)
    w = b.const("w", rng.integers(-127, 128, (4, 3, 3, 3), dtype=np.int8),
                scale=[0.01, 0.02, 0.015, 0.01], zero_point=[0, 0, 0, 0], quantized_dimension=0)
    bias = b.const("b", rng.integers(-500, 500, 4, dtype=np.int32),
                   scale=[0.05 * s for s in (0.01, 0.02, 0.015, 0.01)], zero_point=[0] * 4)
    h = b.tensor("h", (1, 4, 4, 4), "int8", scale=0.1, zero_point=2)
    b.op("CONV_2D", [x, w, bias], [h], "Conv2DOptions", Padding="VALID", StrideW=1, StrideH=1,
         DilationWFactor=1, DilationHFactor=1, FusedActivationFunction="NONE")
    fw = b.const("fw", rng.integers(-127, 128, (5, 64), dtype=np.int8), scale=0.01, zero_point=0)
    y = b.tensor("y", (1, 5), "int8", scale=0.2, zero_point=-1)
    b.op("FULLY_CONNECTED", [h, fw, -1], [y], "FullyConnectedOptions", FusedActivationFunction="NONE")
    return b.build(inputs=[x], outputs=[y])


def test_profile_rows_types_and_macs(capsys):
    rng = np.random.default_rng(1)
    data = _conv_fc_model(rng)
    it = Interpreter(pack(data, "conv_fc.tflite", kernels="np", check_budget=False).binary)
    x = rng.integers(-128, 128, (1, 6, 6, 3), dtype=np.int8)
    p = run_profile(it, argparse.Namespace(profile_repeat=3, seed=0), inputs=[x])
    out = capsys.readouterr().out
    # hand count: conv 4x4x4 outputs x 3x3x3 taps; FC 5 outputs x 64 inputs
    want = [("CONV_2D", [1, 4, 4, 4], 4 * 4 * 4 * 3 * 3 * 3), ("FULLY_CONNECTED", [1, 5], 5 * 64)]
    assert [(r["type"], r["output_shape"], r["macs"]) for r in p["ops"]] == want
    assert p["macs"] == sum(w[2] for w in want)
    assert sum(r["share"] for r in p["ops"]) == pytest.approx(1.0)
    rows = [ln.split() for ln in out.splitlines() if ln.split() and ln.split()[0].isdigit()]
    assert [(int(r[0]), r[1], r[-4]) for r in rows] == \
        [(0, "CONV_2D", "1,728"), (1, "FULLY_CONNECTED", "320")]
    # the profiled pass ran the real ops in order: the output is TFLite Micro's
    assert np.array_equal(it.get_output(0), TFLM(data)(x)[0])


def test_cli_hooks_and_help():
    top = argparse.ArgumentParser(prog="edge-rt")
    sub = top.add_subparsers(dest="cmd")
    add_commands(sub)
    a = top.parse_args(["bench", "m.tflite", "--repeat", "7", "--threads", "2", "--keep-blas-env"])
    assert a.models == ["m.tflite"] and a.repeat == 7 and a.threads == 2 and a.keep_blas_env
    assert a.fn.__name__ == "cmd_bench"
    run = sub.add_parser("run")
    add_profile_args(run)
    a = top.parse_args(["run", "--profile", "--profile-repeat", "9"])
    assert a.profile and a.profile_repeat == 9
    for mod in ("edge_rt.host.cli_bench",):
        r = subprocess.run([sys.executable, "-m", mod, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "usage: edge-rt bench" in r.stdout and "--overhead" in r.stdout
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "bench.py"), "--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "usage: edge-rt bench" in r.stdout


def test_bad_arguments_are_one_line_errors(tmp_path):
    for args in (["--runtimes", "nosuch", HELLO], [str(tmp_path / "missing.tflite")]):
        r = subprocess.run([sys.executable, "-m", "edge_rt.host.cli_bench", *args], capture_output=True, text=True)
        assert r.returncode == 1 and r.stderr.startswith("edge-rt: error: ") and "Traceback" not in r.stderr


def test_profile_macs_of_a_real_model_match_the_ir_count(capsys):
    from edge_rt.compiler.importers.tflite import import_tflite
    from edge_rt.errors import UnsupportedModelError
    from edge_rt.host.profile_ops import graph_macs
    path = os.path.join(ROOT, "models", "kws_dscnn_int8.tflite")
    with open(path, "rb") as f:
        data = f.read()
    try:
        it = Interpreter(pack(data, "kws.tflite", kernels="np", check_budget=False).binary)
    except UnsupportedModelError as e:
        pytest.skip(f"kws does not pack yet: {e.problems[0]}")
    p = run_profile(it, argparse.Namespace(profile_repeat=1, seed=0))
    want = graph_macs(import_tflite(data, path)[0])
    # fused ops (DS_CONV_2D, CONV_2D_ADD) must count exactly the MACs of the ops they replace
    assert p["macs"] == want and round(want / 1e6, 2) == 2.66  # MLPerf Tiny quotes 2.66 M MACs
    assert len(p["ops"]) == len(it.model.ops)


def test_ab_kernels_tool_compares_two_commits():
    """tools/ab_kernels.py exports HEAD under another package name and times both trees on
    the same model; the outputs of the two must agree (same kernels here)."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "ab_kernels.py"), "--ref", "HEAD",
                        "--rounds", "2", HELLO], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    row = [ln for ln in r.stdout.splitlines() if ln.startswith("hello_world_int8")]
    assert len(row) == 1 and "DIFFERENT" not in row[0], r.stdout
    old, new, ratio = (float(v) for v in row[0].split()[1:4])
    # consistency, not speed: the ratio (3 decimals) of the unrounded medians lies within what
    # the medians printed to 0.1 us allow
    assert old > 0.05 and new > 0.05, row
    assert (new - 0.05) / (old + 0.05) - 0.0005 <= ratio <= (new + 0.05) / (old - 0.05) + 0.0005, row


def test_ab_kernels_tool_rejects_an_unknown_commit():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "ab_kernels.py"), "--ref", "no-such-ref",
                        HELLO], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode != 0 and "git archive no-such-ref failed" in r.stderr and "Traceback" not in r.stderr


def test_bench_synthetic_mobilenet_beside_tflm_and_litert(capsys):
    """--synthetic adds MobileNet-v1 96x96 (edge_rt.testing.mobilenets): it runs on the C plan bit-exact
    with TFLite Micro on the same input, beside LiteRT, and the arena section reports our plan against
    TFLite Micro's own head (measured by TFLite Micro in the bench, not stored)."""
    pytest.importorskip("tflite_micro")
    rts = "edge_rt,tflm,litert_xnnpack"
    assert main([HELLO, "--synthetic", "--repeat", "2", "--warmup", "0", "--runtimes", rts, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [m["model"] for m in r["models"]] == ["hello_world_int8", "mobilenet_v1_96_025"]
    mb = r["models"][1]
    assert mb["macs"] > 7_000_000 and mb["kernel_set"] == "c" and set(mb["op_kernels"]) == {"c"}
    assert mb["runtimes"]["edge_rt"]["status"] == "ok" and mb["runtimes"]["tflm"]["status"] == "ok"
    assert mb["runtimes"]["edge_rt"]["output_matches_tflm"] is True
    for m in r["models"]:
        assert m["tflm_head_bytes"] > 0 and m["arena_bytes"] <= m["tflm_head_bytes"], m["model"]
    table = format_report(r)
    assert "arena (bytes)" in table and "mobilenet_v1_96_025" in table.split("arena (bytes)")[1]


def test_bench_default_models_include_the_synthetic_mobilenet(monkeypatch):
    """No models given: the shared models and the synthetic MobileNet; models given: only those,
    unless --synthetic."""
    import edge_rt.host.cli_bench as cb
    seen = []

    class Stop(Exception):
        pass

    def fake_run_bench(paths, **kw):
        seen.append([os.path.basename(p) for p in paths])
        raise Stop
    monkeypatch.setattr(cb, "run_bench", fake_run_bench)
    monkeypatch.setattr(cb, "default_models", lambda: [HELLO])
    for argv in ([], [HELLO], [HELLO, "--synthetic"], ["--no-synthetic"]):
        with pytest.raises(Stop):
            cb.cmd_bench(build_args(argv))
    assert seen == [["hello_world_int8.tflite", "mobilenet_v1_96_025.tflite"], ["hello_world_int8.tflite"],
                    ["hello_world_int8.tflite", "mobilenet_v1_96_025.tflite"], ["hello_world_int8.tflite"]]


def build_args(argv):
    p = argparse.ArgumentParser()
    from edge_rt.host.cli_bench import add_bench_args
    add_bench_args(p)
    return p.parse_args(argv)
