"""A short, deterministic run of the .ert fuzzer (tools/fuzz/run.sh; the 10-minute run and its
figures: docs/c_kernels.md "Fuzzing"): the C kernels built with AddressSanitizer + UBSan in a
temporary directory, a fixed seed, a fixed number of executions over a fresh corpus of small
C-packed models. Every mutated file must load and invoke or fail with an edge_rt error: no
other exception, crash, hang or sanitizer report."""
import binascii
import os
import shutil
import struct
import subprocess
import sys

import pytest

from edge_rt import format as F
from edge_rt.compiler.pack import pack
from edge_rt.errors import ModelFormatError
from edge_rt.interpreter import Interpreter
from edge_rt.reader import parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = 1500


def _restamp(b):
    struct.pack_into("<I", b, 12, binascii.crc32(memoryview(b)[16:]) & 0xFFFFFFFF)
    return bytes(b)


def test_io_tensor_outside_the_arena_is_refused():
    """Fuzzer finding: an IO id naming a constant made get_output read the arena at the
    constant's offset (a numpy error, not an edge_rt one)."""
    from test_c_kernels import fc_model
    b = bytearray(pack(fc_model(4, 8), "fc.tflite", kernels="c").binary)
    m = parse(bytes(b))
    const = next(t.index for t in m.tensors if t.kind == F.KIND_CONST)
    off, _ = m.sections[F.SEC_IO]
    nin, _ = struct.unpack_from("<II", b, off)
    struct.pack_into("<i", b, off + 8 + 4 * nin, const)  # the first output
    with pytest.raises(ModelFormatError, match=r"IO: tensor %d .* is not in the arena" % const):
        Interpreter(_restamp(b))


def test_kernel_failure_at_invoke_is_one_edge_rt_error():
    """Fuzzer finding: params that pass the load checks but not a numpy kernel's own indexing
    (SOFTMAX's) raised IndexError from invoke(); invoke reports one ModelFormatError line."""
    from test_c_kernels import fc_model
    it = Interpreter(pack(fc_model(4, 8), "fc.tflite", kernels="np").binary)
    it._run = [lambda: [][1]]  # what such a kernel raised
    with pytest.raises(ModelFormatError, match=r"invoke: an op's kernel failed .*IndexError"):
        it.invoke()


def test_short_fuzz_run_finds_nothing(tmp_path):
    pytest.importorskip("atheris", reason="atheris not installed (pip install atheris; the test extra)")
    if _libasan() is None:
        pytest.skip("gcc with AddressSanitizer (libasan) not available")

    env = dict(os.environ, PYTHON=sys.executable, ASAN_DIR=str(tmp_path / "asan"), FUZZ_DIR=str(tmp_path / "fuzz"),
               ASAN_OPT="-O0", FUZZ_SEEDS="small")
    r = subprocess.run([os.path.join(ROOT, "tools", "fuzz", "run.sh"), "600", "-runs=%d" % RUNS, "-seed=1"],
                       env=env, capture_output=True, text=True, timeout=900)
    log = r.stdout + r.stderr
    tail = "\n".join(line for line in log.splitlines() if "Instrumenting" not in line)[-3000:]
    assert r.returncode == 0, tail
    assert "Done %d runs" % RUNS in log, tail
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, tail  # ASan / UBSan
    found = [f for f in os.listdir(tmp_path / "fuzz") if f.startswith(("crash-", "timeout-", "oom-", "leak-"))]
    assert not found, tail


def _libasan():
    if shutil.which("gcc") is None:
        return None
    p = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    return p if os.path.isabs(p) and os.path.exists(p) else None
