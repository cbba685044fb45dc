"""Latency benchmark, child side: what runs inside each runtime's subprocess.

bench.py (the parent) starts `python edge_rt/host/bench_child.py --child SPEC_JSON` once per runtime
and model. Run by path with only the stdlib imported at start, so a peer's RSS carries nothing
of edge_rt; the runtime under test is imported only when its model is loaded.

Protocol: one JSON object per line on stdout, commands one per line on stdin.
  child -> {"ready": true, "load_s": [...], "out_sha1": ..., "blas": ...}   (after warmup)
  "run K" -> {"t": [K invoke times in s]}
  "quit" / EOF -> {"rss_kb": peak RSS}
  any failure -> {"error": "Type: first line"} (the parent marks this runtime only)
The "baseline" runtime only imports numpy and reports {"ready", "rss_kb", "blas"}: the RSS floor.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time

LOAD_REPEAT = 11  # loads per runtime; load time is their median (the first pays lazy imports)


def _blas_info() -> dict:
    """Which BLAS numpy uses, its runtime core type and thread count (child side)."""
    import numpy as np
    info = {"numpy": np.__version__}
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info.update(blas=cfg.get("name"), blas_version=cfg.get("version"))
    except Exception:  # older numpy without mode="dicts": the rest still says enough
        pass
    try:
        import threadpoolctl
        for d in threadpoolctl.threadpool_info():
            if d.get("user_api") == "blas":
                info.update(blas_lib=d.get("filepath"), core=d.get("architecture"),
                            blas_threads=d.get("num_threads"), source="threadpoolctl")
                return info
    except ImportError:
        pass
    # No threadpoolctl: ask the OpenBLAS that numpy loaded, found in our own memory map.
    try:
        import ctypes
        with open("/proc/self/maps") as f:
            libs = sorted({ln.split()[-1] for ln in f if "openblas" in ln.lower() and "/" in ln})
        if libs:
            lib = ctypes.CDLL(libs[0])
            info["blas_lib"] = libs[0]
            for prefix in ("scipy_openblas_", "openblas_"):
                for suffix in ("64_", ""):
                    fn = getattr(lib, prefix + "get_corename" + suffix, None)
                    if fn is None:
                        continue
                    fn.restype = ctypes.c_char_p
                    info["core"] = fn().decode()
                    nt = getattr(lib, prefix + "get_num_threads" + suffix, None)
                    if nt is not None:
                        info["blas_threads"] = int(nt())
                    info["source"] = "ctypes"
                    return info
    except (OSError, AttributeError, ValueError):
        pass
    return info


def _make_runner(spec, data):
    """(set_inputs(xs), invoke(), outputs()) for the runtime named in spec."""
    rt = spec["runtime"]
    if rt in ("edge_rt", "edge_rt_np"):  # edge_rt: the file's sets (c, numpy per op); edge_rt_np: numpy
        from edge_rt import Interpreter
        it = Interpreter(data, kernels=None if rt == "edge_rt" else "np")
        n_out = len(it.output_details())
        spec["_c_simd"] = it.c_simd

        def set_inputs(xs):
            for i, x in enumerate(xs):
                it.set_input(i, x)
        return set_inputs, it.invoke, lambda: [it.get_output(i) for i in range(n_out)]
    if rt == "tflm":
        from tflite_micro.python.tflite_micro import runtime
        it = runtime.Interpreter.from_bytes(data, arena_size=max(len(data) * 10, 1 << 21))

        def set_inputs(xs):
            for i, x in enumerate(xs):
                it.set_input(x, i)
        return set_inputs, it.invoke, lambda: [it.get_output(i) for i in range(spec["n_outputs"])]
    try:
        from ai_edge_litert import interpreter as mod
    except ImportError:
        from tflite_runtime import interpreter as mod
    kw = {"model_content": data, "num_threads": spec["threads"]}
    if rt == "litert_ref":
        kw["experimental_op_resolver_type"] = mod.OpResolverType.BUILTIN_REF
    it = mod.Interpreter(**kw)
    it.allocate_tensors()
    ins = [d["index"] for d in it.get_input_details()]
    outs = [d["index"] for d in it.get_output_details()]

    def set_inputs(xs):
        for i, x in zip(ins, xs):
            it.set_tensor(i, x)
    return set_inputs, it.invoke, lambda: [it.get_tensor(o) for o in outs]


def _child_main(spec: dict) -> None:
    # The protocol owns the real stdout; anything a runtime prints goes to stderr.
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    def send(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    def rss_kb():
        # Linux keeps ru_maxrss across execve, so a child's ru_maxrss is at least the parent's
        # RSS at fork; VmHWM is the peak of this process image alone. Both in KiB.
        try:
            with open("/proc/self/status") as f:
                for ln in f:
                    if ln.startswith("VmHWM:"):
                        return int(ln.split()[1])
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    try:
        import gc
        import hashlib
        import numpy as np
        if spec["runtime"] == "baseline":
            send({"ready": True, "rss_kb": rss_kb(), "blas": _blas_info()})
            return
        if spec["runtime"] in ("edge_rt", "edge_rt_np"):
            try:
                from threadpoolctl import threadpool_limits
                threadpool_limits(spec["threads"])
            except ImportError:  # the parent set the *_NUM_THREADS env vars before numpy loaded
                pass
        with np.load(spec["inputs"]) as z:
            xs = [z[f"arr_{i}"] for i in range(len(z.files))]
        with open(spec["path"], "rb") as f:
            data = f.read()
        loads = []
        runner = None
        for _ in range(spec.get("load_repeat", LOAD_REPEAT)):
            runner = None  # free the previous instance first: peak RSS stays one instance
            t0 = time.perf_counter()
            runner = _make_runner(spec, data)
            loads.append(time.perf_counter() - t0)
        set_inputs, invoke, outputs = runner
        set_inputs(xs)
        invoke()
        h = hashlib.sha1()
        for y in outputs():
            h.update(np.ascontiguousarray(y).tobytes())
        for _ in range(spec["warmup"]):
            set_inputs(xs)
            invoke()
        send({"ready": True, "load_s": loads, "out_sha1": h.hexdigest()[:16],
              "blas": _blas_info() if spec["runtime"] in ("edge_rt", "edge_rt_np") else None,
              "c_simd": spec.get("_c_simd")})
        clock = time.perf_counter
        for line in sys.stdin:
            cmd = line.split()
            if not cmd or cmd[0] == "quit":
                break
            times = []
            if spec["warmup"]:  # one untimed invoke re-warms caches after the other runtimes' turn
                set_inputs(xs)
                invoke()
            gc.disable()  # as timeit does: a collection inside one runtime's chunk is noise
            for _ in range(int(cmd[1])):
                set_inputs(xs)
                t0 = clock()
                invoke()
                times.append(clock() - t0)
            gc.enable()
            send({"t": times})
        send({"rss_kb": rss_kb()})
    except Exception as e:  # reported as this runtime's status; the others carry on
        first = (str(e).strip().splitlines() or [""])[0]
        send({"error": f"{type(e).__name__}: {first}"})


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--child":
    # Run by path: drop this file's directory from sys.path (its module names would shadow
    # top-level ones) and find edge_rt through PYTHONPATH, set by the parent.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
    _child_main(json.loads(sys.argv[2]))
