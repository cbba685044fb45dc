"""The sdist carries the C kernel sources, and installing it where no C compiler works (CC=false)
still succeeds, with one warning, and runs on the numpy set: packing for the default board (whose
set is c) falls back to np, and a c-packed file says to repack. Slow (builds a venv): one test."""
import os
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = r"""
import sys
import edge_rt, edge_rt.compiler.pack as P
from edge_rt.compiler.kernel_sets import c_available
assert edge_rt.__file__.startswith(sys.prefix), edge_rt.__file__   # the installed copy, not the tree
assert not c_available()
data = open(sys.argv[1], "rb").read()
r = P.pack(data, "hello.tflite")          # default board rpi4: kernels c -> falls back to np
it = edge_rt.Interpreter(r.binary)
it.invoke()
print("SETS", sorted(set(it.op_kernel_sets)), r.kernel_set)
print("WARNINGS", r.warnings)
c_file = P.pack(data, "hello.tflite", kernels="c").binary
try:
    edge_rt.Interpreter(c_file)
except edge_rt.EdgeRTError as e:
    print("REFUSED", e)
"""


def test_sdist_installs_without_a_compiler_and_runs_numpy(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(dist)], cwd=ROOT, check=True,
                   capture_output=True)
    (sdist,) = list(dist.iterdir())
    with tarfile.open(sdist) as t:
        names = {os.path.basename(n) for n in t.getnames()}
    assert {"ert_kernels.h", "runner.c", "fully_connected.c", "_ert.c", "setup.py"} <= names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # offline: the new venv sees this interpreter's packages (pip, setuptools, numpy) through a .pth
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import site; print(site.getsitepackages()[0])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    here = [p for p in sys.path if p.endswith("site-packages")]
    with open(os.path.join(site, "outer.pth"), "w") as f:
        f.write("\n".join(here) + "\n")
    env = dict(os.environ, CC="false", LDSHARED="false", PIP_NO_INDEX="1")
    env.pop("PYTHONPATH", None)
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-v", "--no-deps",
                        "--no-build-isolation", str(sdist)], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "WARNING: edge_rt C kernels not built" in r.stdout + r.stderr
    model = os.path.join(ROOT, "models", "hello_world_int8.tflite")
    env["EDGE_RT_BOARDS"] = os.path.join(ROOT, "boards")  # board files are not package data (yet)
    r = subprocess.run([str(venv / "bin" / "python"), "-c", SCRIPT, model], env=env, capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "SETS ['np'] np" in r.stdout
    assert "REFUSED" in r.stdout and "--kernels np" in r.stdout
    assert "WARNINGS [\"C kernels not built on this host; packed for kernel set 'np'\"]" in r.stdout, r.stdout
    assert r.stderr == ""
