"""The cross-architecture check's pieces (tools/xarch_check.sh runs them in full in CI): vectors
made by tools/xarch/make_vectors.py (one model per C op kind here) pass the C test driver
built natively, and under qemu-aarch64 on the NEON path when the cross tools are installed; the
driver reports a corrupted expected byte as a mismatch and a truncated file as bad."""
import os
import shutil
import subprocess
import sys

import pytest

from edge_rt import format as F
from edge_rt.kernels.c.ops import OPS
from edge_rt.testing.c_set import C_BUILT, SKIP_REASON

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C_DIR = os.path.join(ROOT, "edge_rt", "kernels", "c")
SOURCES = [os.path.join(ROOT, "tools", "xarch", "driver.c")] + sorted(
    os.path.join(C_DIR, f) for f in os.listdir(C_DIR) if f.endswith(".c") and f != "_ert.c")

# the vectors are made by binding C-packed models, which needs the extension here
pytestmark = [pytest.mark.skipif(not C_BUILT, reason=SKIP_REASON),
              pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc to build the C test driver")]


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    d = tmp_path_factory.mktemp("vec")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "xarch", "make_vectors.py"), str(d), "--quick"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return d


def _build(cc, out, *flags):
    subprocess.run([cc, "-O0", "-std=gnu99", "-I" + C_DIR, *flags, "-o", str(out), *SOURCES], check=True)
    return str(out)


def _run(cmd, files):
    return subprocess.run(cmd + [str(f) for f in files], capture_output=True, text=True)


def test_native_driver_passes_and_detects_mismatches(vectors, tmp_path):
    drv = _build("gcc", tmp_path / "drv")
    files = sorted(vectors.glob("*.ertv"))
    r = _run([drv, "-f", "0", "-p", "portable"], files)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mismatches=0" in r.stdout and "ops=%d " % len(OPS) in r.stdout, r.stdout
    for code in OPS:
        assert F.OP_NAMES[code] + " " in r.stdout  # every C op ran
    # the last byte of a file is the last expected output byte: flip it
    bad = tmp_path / "bad.ertv"
    blob = bytearray(files[0].read_bytes())
    blob[-1] ^= 0x40
    bad.write_bytes(bytes(blob))
    r = _run([drv], [bad])
    assert r.returncode == 1 and "MISMATCH" in r.stderr and "mismatches=1" in r.stdout, r.stdout + r.stderr
    cut = tmp_path / "cut.ertv"
    cut.write_bytes(bytes(blob[:len(blob) // 2]))
    assert _run([drv], [cut]).returncode == 2
    assert _run([drv, "-p", "no-such-path"], files).returncode == 3


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None or shutil.which("qemu-aarch64") is None,
                    reason="gcc-aarch64-linux-gnu / qemu-user not installed (apt-get install them)")
def test_aarch64_neon_under_qemu(vectors, tmp_path):
    drv = _build("aarch64-linux-gnu-gcc", tmp_path / "drv-a64", "-static")
    r = _run(["qemu-aarch64", "-cpu", "cortex-a72", drv, "-p", "neon"], sorted(vectors.glob("*.ertv")))
    assert r.returncode == 0 and "mismatches=0" in r.stdout, r.stdout + r.stderr
