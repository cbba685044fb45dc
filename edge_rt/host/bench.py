"""Latency benchmark: edge_rt (runtime `edge_rt`: the default C kernel set, numpy per op where C
lacks an op; `edge_rt_np`: the numpy set) against TFLite Micro and LiteRT (reference kernels and
the default XNNPACK path), host side.

How one model is measured:
1. The parent packs the model for the C and for the numpy kernels (packing is host work, so it
   is not part of our load time or memory), draws one random input (seed 0) and saves it.
2. One child process per runtime is started, one after the other (so load times do not
   compete for the cores). Each child reads the file bytes, times loading (bytes to
   ready-to-invoke, median of a few loads), runs once to fingerprint the outputs, warms up,
   and reports ready. Children run bench_child.py (the child side and its line protocol)
   by path with only the stdlib imported at start, so a peer's RSS carries nothing of edge_rt.
3. The parent then interleaves: in each round every child runs a chunk of timed invokes,
   the order rotating per round, so machine noise falls on all runtimes alike.
4. Each child finally reports its peak RSS (VmHWM; ru_maxrss where /proc is missing). A
   baseline child that only imports numpy gives the floor; raw and raw - baseline are reported.
Inputs are set before every invoke (untimed) for every runtime; only invoke() is timed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .bench_child import LOAD_REPEAT

RUNTIMES = ("edge_rt", "edge_rt_np", "tflm", "litert_ref", "litert_xnnpack")
LABELS = {"edge_rt": "edge_rt", "edge_rt_np": "edge_rt-np", "tflm": "TFLM", "litert_ref": "LiteRT-ref",
          "litert_xnnpack": "LiteRT-XNNPACK"}
OURS = ("edge_rt", "edge_rt_np")  # runtime -> the .ert packed for its kernel set (entry key)
ERT_KEY = {"edge_rt": "_ert", "edge_rt_np": "_ert_np"}
# Old OpenBLAS builds on this machine want these; a current numpy's OpenBLAS runs slower with them.
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
CHILD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_child.py")


def _median(xs):
    s = sorted(xs)
    n = len(s)
    if not n:
        return None
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child_env(threads: int, keep_blas_env: bool) -> tuple[dict, dict]:
    """Environment for the children and the BLAS variables removed from it (never os.environ)."""
    env = dict(os.environ)
    unset = {}
    if not keep_blas_env:
        for k in BLAS_ENV:
            if k in env:
                unset[k] = env.pop(k)
    for k in THREAD_ENV:
        env[k] = str(threads)
    env["PYTHONPATH"] = repo_root() + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env, unset


def missing_note(rt: str) -> str | None:
    """Why runtime rt cannot run here, or None."""
    from importlib.util import find_spec
    if rt == "tflm" and find_spec("tflite_micro") is None:
        return "skipped: tflite_micro not installed"
    if rt.startswith("litert") and find_spec("ai_edge_litert") is None and find_spec("tflite_runtime") is None:
        return "skipped: neither ai_edge_litert nor tflite_runtime installed"
    return None


class _Child:
    def __init__(self, spec: dict, env: dict, errlog: str):
        self.err_path = errlog
        self._err = open(errlog, "w")
        self.p = subprocess.Popen([sys.executable, CHILD_SCRIPT, "--child", json.dumps(spec)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                                  env=env, text=True, bufsize=1)

    def recv(self) -> dict:
        line = self.p.stdout.readline()
        if not line:
            self.p.wait()
            with open(self.err_path) as f:
                tail = [ln.strip() for ln in f if ln.strip()]
            return {"error": f"child exited with {self.p.returncode}"
                    + (f": {tail[-1]}" if tail else "")}
        return json.loads(line)

    def ask(self, cmd: str) -> dict:
        try:
            self.p.stdin.write(cmd + "\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            pass
        return self.recv()

    def close(self) -> None:
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self._err.close()


def tflite_io(data: bytes):
    """(input (shape, dtype) list, number of outputs, has int8 tensors) from the flatbuffer."""
    import numpy as np
    import tflite as S
    types = {S.TensorType.INT8: np.int8, S.TensorType.UINT8: np.uint8, S.TensorType.INT16: np.int16,
             S.TensorType.INT32: np.int32, S.TensorType.FLOAT32: np.float32, S.TensorType.INT64: np.int64}
    m = S.Model.GetRootAsModel(data, 0)
    sg = m.Subgraphs(0)
    ins = []
    for i in range(sg.InputsLength()):
        t = sg.Tensors(sg.Inputs(i))
        ins.append((tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else (), types[t.Type()]))
    # an int8 model computes in int8: some activation (a tensor without data) is int8;
    # hybrid float models only hold int8 weights
    int8 = any(sg.Tensors(i).Type() == S.TensorType.INT8
               and m.Buffers(sg.Tensors(i).Buffer()).DataLength() == 0 for i in range(sg.TensorsLength()))
    return ins, sg.OutputsLength(), int8


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def prepare_model(path: str, tmp: str, seed: int = 0, disable: tuple = (), tflm_head: bool = False) -> dict:
    """Pack for edge_rt, count MACs, write the shared random input; with tflm_head, TFLite Micro's
    own head (edge_rt/host/tflm_memory.py, a child process). Returns the model entry."""
    import numpy as np
    from ..compiler.importers.tflite import import_tflite
    from ..compiler.pack import pack
    from ..errors import EdgeRTError, UnsupportedModelError
    from .profile_ops import graph_macs
    from ..testing.reference import random_input
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise EdgeRTError(f"cannot read {path}: {e.strerror}") from None
    base = os.path.splitext(os.path.basename(path))[0]
    entry = {"model": base, "path": path, "file_bytes": len(data), "macs": None}
    try:
        ins, n_out, _ = tflite_io(data)
    except Exception as e:
        raise EdgeRTError(f"{path}: not a readable .tflite model ({_first_line(e)})") from None
    try:
        g, _problems = import_tflite(data, path)
        entry["macs"] = graph_macs(g) if g is not None else None
    except Exception:  # the importer's own failure shows up as edge_rt's status below
        pass
    rng = np.random.default_rng(seed)
    tag = f"{len(os.listdir(tmp))}_{base}"  # two models may share a base name
    inputs = os.path.join(tmp, tag + ".inputs.npz")
    np.savez(inputs, *[random_input(shape, dt, rng) for shape, dt in ins])
    entry.update(_inputs=inputs, _n_outputs=n_out, _tflite=path, _ert=None, _ert_note=None, _ert_np=None)
    from ..compiler.kernel_sets import c_available
    for key, ks in (("_ert", "c" if c_available() else "np"), ("_ert_np", "np")):
        try:
            r = pack(data, os.path.basename(path), kernels=ks, check_budget=False, disable=disable)
            entry[key] = os.path.join(tmp, tag + key + ".ert")
            with open(entry[key], "wb") as f:
                f.write(r.binary)
            if key == "_ert":
                entry["ert_bytes"] = len(r.binary)
                entry["kernel_set"] = ks
                entry["op_kernels"] = [op.kernel_set for op in r.graph.ops]
            entry["arena_bytes" if key == "_ert" else "arena_bytes_np"] = r.plan.arena_bytes
            if key == "_ert":
                entry["state_bytes"] = r.plan.state_bytes
        except UnsupportedModelError as e:
            entry["_ert_note"] = "unsupported: " + (e.problems[0] if e.problems else _first_line(e))
        except Exception as e:  # a packer bug must not stop the peers' measurements
            entry["_ert_note"] = f"error: {type(e).__name__}: {_first_line(e)}"
    if tflm_head:
        from .tflm_memory import tflm_memory
        t = tflm_memory(path, bisect=False)
        entry["tflm_head_bytes"] = t.get("head")
    return entry


def bench_model(entry: dict, opts: dict, env: dict, tmp: str, log=None) -> dict:
    """Measure every runtime on one prepared model, interleaved; fills entry['runtimes']."""
    res, kids = {}, {}
    for rt in opts["runtimes"]:
        note = entry["_ert_note"] if rt in OURS else missing_note(rt)
        if note:
            res[rt] = {"status": note.split(":")[0], "note": note}
            continue
        spec = {"runtime": rt, "path": entry[ERT_KEY[rt]] if rt in OURS else entry["_tflite"],
                "inputs": entry["_inputs"], "n_outputs": entry["_n_outputs"], "threads": opts["threads"],
                "warmup": opts["warmup"], "load_repeat": opts.get("load_repeat", LOAD_REPEAT)}
        kid = _Child(spec, env, os.path.join(tmp, f"{len(os.listdir(tmp))}.{rt}.stderr"))
        msg = kid.recv()
        if "error" in msg:
            kid.close()
            res[rt] = {"status": "error", "note": "error: " + msg["error"]}
            continue
        kids[rt] = kid
        res[rt] = {"status": "ok", "load_ms": _median(msg["load_s"]) * 1e3,
                   "first_load_ms": msg["load_s"][0] * 1e3, "out_sha1": msg["out_sha1"], "_t": []}
        if msg.get("blas"):
            entry["_blas"] = msg["blas"]
        if msg.get("c_simd"):
            entry["c_simd"] = msg["c_simd"]
    repeat = max(1, opts["repeat"])
    rounds = min(repeat, opts.get("rounds", 10))
    order = list(kids)
    for r in range(rounds if order else 0):
        k = repeat // rounds + (1 if r < repeat % rounds else 0)
        for rt in order[r % len(order):] + order[:r % len(order)]:  # rotate who goes first
            if res[rt]["status"] != "ok":
                continue
            msg = kids[rt].ask(f"run {k}")
            if "error" in msg:
                res[rt] = {"status": "error", "note": "error: " + msg["error"]}
            else:
                res[rt]["_t"] += msg["t"]
    for rt, kid in kids.items():
        msg = kid.ask("quit") if res[rt]["status"] == "ok" else {}
        kid.close()
        if res[rt]["status"] != "ok":
            continue
        t = res[rt].pop("_t")
        res[rt].update(median_us=_median(t) * 1e6, min_us=min(t) * 1e6, n=len(t),
                       rss_kb=msg.get("rss_kb"))
        if opts.get("baseline_rss_kb") and msg.get("rss_kb"):
            res[rt]["rss_over_baseline_kb"] = msg["rss_kb"] - opts["baseline_rss_kb"]
    ours = res.get("edge_rt", {}).get("median_us")
    ratios = {rt: ours / v["median_us"] for rt, v in res.items()
              if rt != "edge_rt" and ours and v.get("median_us")}
    ref = res.get("tflm", {}).get("out_sha1")
    for v in res.values():
        if v.get("out_sha1") and ref:
            v["output_matches_tflm"] = v["out_sha1"] == ref
    entry["runtimes"] = res
    entry["ratios"] = ratios
    if log:
        log(f"  {entry['model']}: " + ", ".join(
            f"{rt} {v['median_us']:,.1f} us" if v.get("median_us") else f"{rt} {v['note']}"
            for rt, v in res.items()))
    return entry


def run_bench(paths, repeat=100, warmup=10, threads=1, keep_blas_env=False,
              runtimes=RUNTIMES, log=None, load_repeat=LOAD_REPEAT, disable=()) -> dict:
    """Benchmark every model in paths; returns the report dict that --json prints.
    disable: graph passes edge_rt packs without (the per-op overhead chains)."""
    import platform
    import tempfile
    env, unset = child_env(threads, keep_blas_env)
    opts = {"repeat": repeat, "warmup": warmup, "threads": threads, "runtimes": tuple(runtimes),
            "load_repeat": load_repeat}
    with tempfile.TemporaryDirectory(prefix="edge_rt_bench_") as tmp:
        base = _Child({"runtime": "baseline"}, env, os.path.join(tmp, "baseline.stderr"))
        bmsg = base.recv()
        base.ask("quit")
        base.close()
        opts["baseline_rss_kb"] = bmsg.get("rss_kb")
        models = []
        for p in paths:
            entry = prepare_model(p, tmp, disable=disable, tflm_head="tflm" in runtimes)
            models.append(bench_model(entry, opts, env, tmp, log))
    blas = next((m["_blas"] for m in models if m.get("_blas")), None) or bmsg.get("blas") or {}
    for m in models:
        for k in [k for k in m if k.startswith("_")]:
            del m[k]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "settings": {"repeat": repeat, "warmup": warmup, "threads": threads, "load_repeat": load_repeat,
                     "runtimes": list(runtimes)},
        "env": {"python": platform.python_version(), "cpu": cpu, "cores": os.cpu_count(),
                "blas": blas, "baseline_rss_kb": opts["baseline_rss_kb"],
                "blas_env_unset": unset, "keep_blas_env": keep_blas_env,
                "blas_env_kept": {k: os.environ[k] for k in BLAS_ENV if k in os.environ} if keep_blas_env else {}},
        "models": models,
    }

