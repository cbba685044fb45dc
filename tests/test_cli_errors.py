"""Every way a user can get a command wrong ends in one line on stderr naming the file and
the problem, a non-zero exit and no traceback (run as the `edge-rt` process would be)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from edge_rt.compiler.pack import pack
from edge_rt.testing import shared_models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = os.path.join(ROOT, "models", "hello_world_int8.tflite")
CLI = [sys.executable, "-m", "edge_rt.host.cli"]


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_errors")
    data = open(HELLO, "rb").read()
    ert = pack(data, "hw.tflite").binary
    (d / "hw.ert").write_bytes(ert)
    (d / "hw_pico.ert").write_bytes(pack(data, "hw.tflite", board="pico").binary)
    (d / "truncated.ert").write_bytes(ert[: len(ert) // 2])
    (d / "afile").write_text("a file, so afile/x cannot be created, even by root\n")
    (d / "bad.npy").write_text("not numpy\n")
    np.save(d / "wrong.npy", np.zeros((3, 3), np.int8))
    np.save(d / "wrongdtype.npy", np.zeros((1, 1), np.float32))
    (d / "adir").mkdir()
    return d


# (arguments, words the one line must hold); {d} is the fixture directory, {hello} the .tflite
CASES = [
    (["bundle", "{d}/nope.ert", "-o", "{d}/b"], ["nope.ert"]),
    (["bundle", "{d}/hw_pico.ert", "-o", "/proc/nope"], ["/proc/nope"]),
    (["pack", "{hello}", "-o", "{d}/afile/x.ert"], ["afile/x.ert", "cannot write"]),
    (["pack", "{d}/nope.tflite"], ["nope.tflite"]),
    (["pack", "{d}/adir"], ["adir"]),
    (["run", "{d}/hw.ert", "--output", "{d}/afile/y.npy"], ["afile/y.npy", "cannot write"]),
    (["run", "{d}/hw.ert", "--output", "{d}/y.txt"], ["y.txt", ".npy"]),
    (["run", "{d}/nope.ert"], ["nope.ert"]),
    (["run", "{d}/adir"], ["adir", "directory"]),
    (["run", "{d}/truncated.ert"], ["truncated.ert"]),
    (["run", "{hello}"], ["hello_world_int8.tflite", "TFLite model", "edge-rt pack"]),
    (["run", "{d}/hw.ert", "--input", "{d}/nope.npy"], ["nope.npy"]),
    (["run", "{d}/hw.ert", "--input", "{d}/bad.npy"], ["bad.npy", "not a .npy"]),
    (["run", "{d}/hw.ert", "--input", "{d}/wrong.npy"], ["wrong.npy", "(3, 3)", "(1, 1)"]),
    (["run", "{d}/hw.ert", "--input", "{d}/wrongdtype.npy"], ["wrongdtype.npy", "float32", "int8"]),
    (["run", "{d}/hw.ert", "--profile", "--input", "{d}/bad.npy"], ["bad.npy"]),
    (["inspect", "{d}/nope.ert"], ["nope.ert"]),
    (["inspect", "{hello}"], ["hello_world_int8.tflite", "TFLite model", "edge-rt pack"]),
    (["inspect", "{d}/truncated.ert"], ["truncated.ert"]),
    (["inspect", "{d}/hw.ert", "--memory-png", "{d}/afile/m.png"], ["afile/m.png"]),
    (["profile", "{d}/hw.ert", "--runs", "1", "--warmup", "0", "--json", "{d}/afile/p.json"], ["afile/p.json"]),
    (["profile", "{d}/nope.ert"], ["nope.ert"]),
    (["profile", "{d}/hw.ert", "--input", "{d}/bad.npy"], ["bad.npy"]),
    (["deploy", "{d}/nope.ert", "--port", "loop://"], ["nope.ert"]),
    (["agent", "{d}/nope.ert", "--stdio"], ["nope.ert"]),
    (["remote", "run", "--port", "{d}/nodevice"], ["nodevice"]),
    (["bench", "{d}/nope.tflite"], ["nope.tflite"]),
    (["bench", "{d}/adir"], ["adir"]),
]


def _one_line_error(r, words):
    assert r.returncode not in (0, None), (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edge-rt: error: "), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.mark.parametrize("args,words", CASES, ids=[" ".join(a[:2]) + f" [{i}]" for i, (a, _) in enumerate(CASES)])
def test_one_line_naming_the_file(d, args, words):
    args = [a.format(d=d, hello=HELLO) for a in args]
    r = subprocess.run(CLI + args, capture_output=True, text=True, timeout=120, cwd=d)
    _one_line_error(r, [w.format(d=d) for w in words])


def test_float_model_is_one_line_saying_what_to_do(tmp_path):
    path = os.path.join(shared_models.SHARED_MODELS, "kws_dscnn_float32.tflite")
    if not os.path.exists(path):
        pytest.skip(f"{path} not present")
    r = subprocess.run(CLI + ["pack", path, "-o", str(tmp_path / "f.ert")], capture_output=True, text=True,
                       timeout=120)
    _one_line_error(r, ["kws_dscnn_float32.tflite", "float32 model", "quantize"])


def test_tflite_given_to_the_interpreter_says_how_to_pack():
    from edge_rt import Interpreter, ModelFormatError
    with pytest.raises(ModelFormatError, match=r"TFLite model.*edge-rt pack"):
        Interpreter(open(HELLO, "rb").read())


def test_closed_stdout_ends_quietly(d):
    """`edge-rt run M.ert | head -3`: the reader is gone before anything is written."""
    rfd, wfd = os.pipe()
    os.close(rfd)
    try:
        r = subprocess.run(CLI + ["run", str(d / "hw.ert"), "--repeat", "3"], stdout=wfd,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(wfd)
    assert r.returncode == 141 and r.stderr == "", (r.returncode, r.stderr)


@pytest.mark.parametrize("args", [["run", "{d}/hw.ert", "--repeat", "0"], ["run", "{d}/hw.ert", "--repeat", "-3"],
                                  ["run", "{d}/hw.ert", "--threads", "0"],
                                  ["run", "{d}/hw.ert", "--profile", "--profile-repeat", "0"],
                                  ["profile", "{d}/hw.ert", "--runs", "0"]])
def test_counts_below_one_are_refused_by_the_parser(d, args):
    r = subprocess.run(CLI + [a.format(d=d) for a in args], capture_output=True, text=True, timeout=120)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"argument {args[-2]}: " in last and "is not >= 1" in last, r.stderr


def test_version():
    import edge_rt
    r = subprocess.run(CLI + ["--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"edge-rt {edge_rt.__version__}"
