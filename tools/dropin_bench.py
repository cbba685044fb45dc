"""The tflite-runtime drop-in's cost, side by side in one run: constructing edge_rt.tflite.Interpreter
on a .tflite the first time (pack + load) and from the cache, against LiteRT's Interpreter +
allocate_tensors (BUILTIN_REF kernels), with the median invoke() of each (the drop-in's includes
copying back an input the plan consumed, as TFLite's semantics need).

    python tools/dropin_bench.py [--repeat N] [MODEL.tflite ...]   (default: ../shared/models/*_int8.tflite)
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from edge_rt.testing.reference import litert_module  # noqa: E402
from edge_rt.testing.shared_models import SHARED_MODELS  # noqa: E402


def _ms(f, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1e3


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*")
    p.add_argument("--repeat", type=int, default=200, help="invokes timed per runtime (default 200)")
    a = p.parse_args(argv)
    paths = a.models or sorted(glob.glob(os.path.join(SHARED_MODELS, "*_int8.tflite")))
    mod = litert_module()
    cache = os.environ["EDGE_RT_CACHE"] = tempfile.mkdtemp(prefix="edge_rt_cache_")
    try:
        _table(paths, mod, a.repeat)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


def _table(paths, mod, repeat):
    from edge_rt import tflite
    print(f"{'model':22s} {'first use ms':>12s} {'cached ms':>9s} {'LiteRT ms':>9s}   "
          f"{'invoke us':>9s} {'LiteRT us':>9s}")
    for path in paths:
        def ours():
            return tflite.Interpreter(model_path=path)

        def theirs():
            it = mod.Interpreter(model_path=path, experimental_op_resolver_type=mod.OpResolverType.BUILTIN_REF)
            it.allocate_tensors()
            return it
        t0 = time.perf_counter()
        it = ours()
        first = (time.perf_counter() - t0) * 1e3
        assert it.loaded_from == "packed"
        cached = _ms(ours, 20)
        ref_load = _ms(theirs, 20) if mod else float("nan")
        rows = []
        for runner in (it, theirs() if mod else None):
            if runner is None:
                rows.append(float("nan"))
                continue
            rng = np.random.default_rng(0)
            for d in runner.get_input_details():
                info = np.iinfo(d["dtype"])
                runner.set_tensor(d["index"], rng.integers(info.min, info.max, d["shape"], endpoint=True)
                                  .astype(d["dtype"]))
            runner.invoke()
            rows.append(_ms(runner.invoke, repeat) * 1e3)
        print(f"{os.path.basename(path)[:-7]:22s} {first:12.1f} {cached:9.2f} {ref_load:9.2f}   "
              f"{rows[0]:9.1f} {rows[1]:9.1f}")


if __name__ == "__main__":
    sys.exit(main())
