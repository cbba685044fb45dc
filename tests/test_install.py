"""A wheel and an sdist install into a fresh venv and work outside the checkout.

Offline and fast: the sources are copied to a temporary directory (nothing is written into the
checkout), built without build isolation, installed with --no-deps --no-index; the fresh venv
sees the running interpreter's site-packages (numpy, flatbuffers, tflite) through a .pth file
appended after its own, so `edge_rt` itself comes only from what was installed.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import venv

import numpy
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# what the build needs: setup files, the package, and the data setup.py/MANIFEST.in ship
SOURCES = ("setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md",
           "edge_rt", "boards", "models", "docs")

pytest.importorskip("build")
pytest.importorskip("wheel")


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{cmd}: rc {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "*.ert")
    for name in SOURCES:
        p = os.path.join(ROOT, name)
        if os.path.isdir(p):
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            shutil.copy2(p, src / name)
    out = tmp_path_factory.mktemp("dist")
    # --sdist --wheel builds the sdist, then the wheel from the unpacked sdist: both are tested
    _run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "-o", str(out), str(src)])
    files = os.listdir(out)
    wheel = [f for f in files if f.endswith(".whl")]
    sdist = [f for f in files if f.endswith(".tar.gz")]
    assert len(wheel) == 1 and len(sdist) == 1, files
    return {"wheel": str(out / wheel[0]), "sdist": str(out / sdist[0])}


def _fresh_venv(path):
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(path)
    py = os.path.join(path, "bin", "python")
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # dependencies (and setuptools/wheel to build the sdist) from this interpreter, after the venv's own
    deps = {os.path.dirname(os.path.dirname(numpy.__file__)), sysconfig.get_paths()["purelib"]}
    with open(os.path.join(purelib, "zz_test_deps.pth"), "w") as f:
        f.write("\n".join(sorted(deps)) + "\n")
    return py


def test_wheel_holds_every_file_of_the_package(dists):
    """Every module and data file under edge_rt/ (a directory without __init__.py would be
    skipped silently), and boards/*.toml as edge_rt/boards/."""
    import zipfile
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    want = set()
    for root, dirs, files in os.walk(os.path.join(ROOT, "edge_rt")):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        for f in files:
            if not f.endswith((".pyc", ".so")):
                want.add(os.path.relpath(os.path.join(root, f), ROOT).replace(os.sep, "/"))
    want |= {"edge_rt/boards/" + f for f in os.listdir(os.path.join(ROOT, "boards")) if f.endswith(".toml")}
    assert not want - names, sorted(want - names)


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_installed_package_packs_and_runs_outside_checkout(kind, dists, tmp_path):
    py = _fresh_venv(str(tmp_path / "venv"))
    _run([sys.executable, "-m", "pip", "--python", py, "install", "-q", "--no-deps", "--no-index",
          "--no-build-isolation", dists[kind]])
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EDGE_RT_BOARDS")}
    cli = os.path.join(os.path.dirname(py), "edge-rt")

    where = _run([py, "-c", "import edge_rt, edge_rt.compiler.boards as b; print(edge_rt.__file__); "
                  "print(b._dir())"], cwd=work, env=env).stdout.split()
    venv_dir = str(tmp_path / "venv")
    assert where[0].startswith(venv_dir) and where[1].startswith(venv_dir), where  # not the checkout

    boards = _run([cli, "boards"], cwd=work, env=env).stdout
    for name in ("rpi4", "pico", "esp32s3"):
        assert name in boards
    model = os.path.join(ROOT, "models", "kws_dscnn_int8.tflite")
    r = _run([cli, "pack", model, "-o", "kws.ert"], cwd=work, env=env)
    assert "board rpi4" in r.stdout and (work / "kws.ert").exists()
    r = _run([cli, "run", "kws.ert", "--output", "y.npy"], cwd=work, env=env)
    y = numpy.load(work / "y.npy")
    assert y.shape == (1, 12) and y.dtype == numpy.int8
    # the same file run by the checkout's runtime gives the same output
    from edge_rt.interpreter import Interpreter
    from edge_rt.testing.reference import random_input
    it = Interpreter(str(work / "kws.ert"))
    d = it.input_details()[0]
    it.set_input(0, random_input(d["shape"], d["dtype"], numpy.random.default_rng(0)))
    it.invoke()
    assert numpy.array_equal(it.get_output(0), y)
