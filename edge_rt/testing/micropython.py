"""Run packed models on real MicroPython (the WebAssembly port under Node) from Python.

    r = run_model(ert_bytes, [[input0_bytes], ...])   # one inner list per inference
    r.outputs[k][j]      # raw bytes of output j of inference k
    r.heap_after_load    # gc.mem_alloc() after loading, collected (bytes)

What happens (tools/mpy_runner.mjs does the MicroPython side):
1. MicroPython 1.27 boots with a fixed GC heap (HEAP_BYTES, RP2040-class); the heap cannot
   grow (see the runner).
2. The device modules (compiler/bundle.py's list, the same files a board gets) go to
   /lib/edge_rt, the model to /model.ert, each input to /in_K_I.bin.
3. Steps, each a top-level call (this port collects garbage only between them): import the
   runtime, load the model (constants streamed from the file by default), then one step per
   inference: set_input, invoke() with micropython.heap_lock() held (any allocation raises
   MemoryError), outputs printed as hex. If invoke() allocates, every op is re-run alone
   under the lock to name the first op that allocates.
Every run is bounded by `timeout` seconds (subprocess), and the result says what failed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(ROOT, "tools", "mpy_runner.mjs")
PACKAGE = os.path.join(ROOT, "node_modules", "@micropython", "micropython-webassembly-pyscript",
                       "micropython.mjs")
HEAP_BYTES = 256 * 1024

_SETUP = """
import sys, gc, time, binascii, micropython
sys.path.insert(0, "/lib")
"""
_IMPORT = "import edge_rt\n"
_IMPORT_KERNELS = "from edge_rt.interpreter import kernel_set\nkernel_set('ref')\n"
_LOAD = """
it = edge_rt.Interpreter("/model.ert", kernels="ref", stream=%(stream)s)
"""
# MicroPython source: run fn() with the heap locked; the exception it raised, or None.
LOCKED_HELPER = """
def _locked(fn):
    micropython.heap_lock()
    try:
        fn()
        err = None
    except Exception as e:
        err = e
    finally:
        micropython.heap_unlock()
    return err
"""
_REPORT = """
gc.collect()
print("@@load", gc.mem_alloc(), it.arena_bytes, it.weight_buffer_bytes, len(it.model.ops))
micropython.mem_info()
""" + LOCKED_HELPER + """
def _first_allocating_op():
    for j in range(len(it._run)):
        e = _locked(it._run[j])
        if e is not None:
            return j, e
    return -1, None

def _infer(k, n_in, n_out):
    for i in range(n_in):
        f = open("/in_%d_%d.bin" % (k, i), "rb")
        it.set_input(i, f.read())
        f.close()
    t0 = time.ticks_us()
    err = _locked(it.invoke)
    dt = time.ticks_diff(time.ticks_us(), t0)
    if err is not None:
        j, e = _first_allocating_op()
        name = it.model.ops[j].name if j >= 0 else "?"
        print("@@err", k, j, name, type(err).__name__, str(err))
        return
    print("@@us", k, dt)
    for j in range(n_out):
        print("@@out", k, j, binascii.hexlify(it.get_output(j)).decode())
"""


def unavailable() -> str | None:
    """Why MicroPython cannot run here (no node, or `npm ci` not run), or None."""
    if shutil.which("node") is None:
        return "node is not installed (MicroPython runs as its WebAssembly port under Node)"
    if not os.path.exists(PACKAGE):
        return "npm package @micropython/micropython-webassembly-pyscript is not installed (run npm ci)"
    return None


class MicroPythonError(AssertionError):
    """The MicroPython run failed: timeout, an exception, or an allocation under heap_lock.
    `kernel` names the kernel file (kernels/ref/NAME.py) or op the failure points at, if any."""

    def __init__(self, msg, kernel=None):
        AssertionError.__init__(self, msg)
        self.kernel = kernel


def _kernel_in(text):
    found = re.findall(r"kernels/ref/(\w+)\.py", text)
    return found[-1] if found else None


def run_steps(steps: list, files: list = (), heap: int = HEAP_BYTES, timeout: float = 120.0,
              fixed_heap: bool = True) -> dict:
    """Run each Python source in `steps` as one top-level call on MicroPython, after copying
    `files` ([(path on MicroPython, host path)]) into its filesystem; the runner's JSON."""
    why = unavailable()
    if why:
        raise MicroPythonError(why)
    with tempfile.TemporaryDirectory(prefix="edge_rt_mpy_") as tmp:
        job = os.path.join(tmp, "job.json")
        with open(job, "w") as f:
            json.dump({"heapsize": heap, "fixed_heap": fixed_heap, "files": [list(x) for x in files],
                       "steps": list(steps)}, f)
        try:
            p = subprocess.run(["node", RUNNER, job], capture_output=True, text=True, timeout=timeout,
                               cwd=ROOT)
        except subprocess.TimeoutExpired:
            raise MicroPythonError(f"MicroPython run exceeded {timeout:.0f} s") from None
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise MicroPythonError(f"runner failed (exit {p.returncode}): {p.stderr.strip()[-2000:]}") from None
    grown = [t for t in res["heap_totals"] if t > heap]
    if grown:
        raise MicroPythonError(f"MicroPython heap grew to {max(grown):,} B beyond its fixed {heap:,} B")
    return res


def device_files(tmp: str) -> list:
    """[(path on MicroPython, host path)] of the runtime under /lib/edge_rt (as a bundle has it)."""
    from ..compiler.bundle import DEVICE_INIT, device_sources
    files = [("/lib/edge_rt/" + rel, src) for rel, src in device_sources()]
    init = os.path.join(tmp, "__init__.py")
    with open(init, "w") as f:
        f.write(DEVICE_INIT)
    files.append(("/lib/edge_rt/__init__.py", init))
    return files


def model_files(tmp: str, m) -> list:
    """What a bundle of model m ships (compiler/bundle.py): the device modules and only the kernels
    m uses with their ref fallbacks, under generated KERNELS tables, so the heap after load is
    what the board sees (every kernel of every set would not be loaded there)."""
    from ..compiler.bundle import DEVICE_INIT, DEVICE_MODULES, PKG_DIR, kernel_sources
    kernel_files, inits = kernel_sources(m)
    files = [("/lib/edge_rt/" + rel, os.path.join(PKG_DIR, *rel.split("/"))) for rel in DEVICE_MODULES]
    files += [("/lib/edge_rt/" + rel, src) for rel, src in kernel_files]
    for rel, text in list(inits.items()) + [("__init__.py", DEVICE_INIT)]:
        path = os.path.join(tmp, rel.replace("/", "_"))
        with open(path, "w") as f:
            f.write(text)
        files.append(("/lib/edge_rt/" + rel, path))
    return files


@dataclass
class MpyResult:
    outputs: list = field(default_factory=list)    # [inference][output] -> bytes
    us: list = field(default_factory=list)         # microseconds per invoke()
    heap_after_load: int = 0
    arena_bytes: int = 0
    weight_buffer_bytes: int = 0
    heap_totals: list = field(default_factory=list)
    stdout: str = ""


def run_model(ert: bytes, inputs: list, heap: int = HEAP_BYTES, timeout: float = 120.0,
              stream: bool = True, fixed_heap: bool = True) -> MpyResult:
    """Run `ert` once per entry of `inputs` (each a list of raw input buffers) on MicroPython;
    raise MicroPythonError on any failure, including an allocation during invoke()."""
    from ..reader import parse
    m = parse(ert)
    n_in, n_out = len(m.inputs), len(m.outputs)
    with tempfile.TemporaryDirectory(prefix="edge_rt_mpy_") as tmp:
        files = model_files(tmp, m)
        model = os.path.join(tmp, "model.ert")
        with open(model, "wb") as f:
            f.write(ert)
        files.append(("/model.ert", model))
        for k, xs in enumerate(inputs):
            if len(xs) != n_in:
                raise ValueError(f"inference {k}: {len(xs)} inputs given, model has {n_in}")
            for i, x in enumerate(xs):
                p = os.path.join(tmp, f"in_{k}_{i}.bin")
                with open(p, "wb") as f:
                    f.write(bytes(memoryview(x).cast("B")))
                files.append((f"/in_{k}_{i}.bin", p))
        steps = [_SETUP, _IMPORT, _IMPORT_KERNELS, _LOAD % {"stream": stream}, _REPORT]
        steps += [f"_infer({k}, {n_in}, {n_out})\n" for k in range(len(inputs))]
        steps.append("micropython.mem_info()\n")
        res = run_steps(steps, files, heap=heap, timeout=timeout, fixed_heap=fixed_heap)
    return _parse(res, m)


def _kernel_of(m, j):
    from ..kernels.ref import KERNELS
    fn = KERNELS.get(m.ops[j].opcode) if 0 <= j < len(m.ops) else None
    return fn.__module__.rsplit(".", 1)[-1] if fn else None


def _parse(res: dict, m) -> MpyResult:
    r = MpyResult(stdout=res["stdout"], heap_totals=res["heap_totals"])
    if not res["ok"]:
        step = res["failed_step"]
        what = ["setup", "import edge_rt", "import the ref kernels", "load the model", "report"]
        where = what[step] if step < len(what) else f"inference {step - len(what)}"
        err = (res["error"] or "").strip()
        last = err.splitlines()[-1] if err else "?"
        raise MicroPythonError(f"MicroPython failed in step {step} ({where}): {last}\n{err}\n"
                               f"output:\n{res['stdout'][-3000:]}", kernel=_kernel_in(err))
    outs: dict = {}
    for line in r.stdout.splitlines():
        parts = line.split(" ", 6)
        if parts[0] == "@@load":
            r.heap_after_load, r.arena_bytes, r.weight_buffer_bytes = map(int, parts[1:4])
        elif parts[0] == "@@us":
            r.us.append(int(parts[2]))
        elif parts[0] == "@@out":
            outs.setdefault(int(parts[1]), {})[int(parts[2])] = bytes.fromhex(parts[3])
        elif parts[0] == "@@err":
            raise MicroPythonError(f"inference {parts[1]}: invoke() raised {' '.join(parts[4:])} with the "
                                   f"heap locked; first op that fails alone: op {parts[2]} ({parts[3]})",
                                   kernel=_kernel_of(m, int(parts[2])))
    r.outputs = [[outs[k][j] for j in sorted(outs[k])] for k in sorted(outs)]
    return r
