"""tools/c_selfcheck.c: the C kernels without Python, every SIMD path against the portable one
(which the conformance tests pin to TFLite Micro), natively and, where the Debian cross compilers
and qemu-user are installed, for aarch64 (NEON, dot product: qemu -cpu max) and armv7l."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K = os.path.join(ROOT, "edge_rt", "kernels", "c")
# every kernel file but the CPython glue (runner.c's table names every kernel)
SRC = [os.path.join(ROOT, "tools", "c_selfcheck.c")] + [os.path.join(K, f) for f in sorted(os.listdir(K))
                                                        if f.endswith(".c") and f != "_ert.c"]
TARGETS = {"native": ("gcc", None), "aarch64": ("aarch64-linux-gnu-gcc", ["qemu-aarch64", "-cpu", "max", "-L",
                                                                            "/usr/aarch64-linux-gnu"]),
           "armv7l": ("arm-linux-gnueabihf-gcc", ["qemu-arm", "-L", "/usr/arm-linux-gnueabihf"])}


@pytest.mark.parametrize("target", list(TARGETS))
def test_simd_paths_agree_with_portable(target, tmp_path):
    cc, runner = TARGETS[target]
    if shutil.which(cc) is None or (runner and shutil.which(runner[0]) is None):
        pytest.skip(f"{cc} or {runner[0] if runner else ''} not installed")
    exe = str(tmp_path / "selfcheck")
    subprocess.run([cc, "-O2", "-std=gnu99", "-Wall", "-Werror", "-I" + K, *SRC, "-o", exe], check=True,
                   capture_output=True)
    r = subprocess.run((runner or []) + [exe], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr
    if target == "aarch64":
        assert "neon-dotprod and portable agree" in r.stdout
