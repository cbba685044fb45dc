#!/usr/bin/env python3
"""A/B latency of the numpy kernels at two commits, interleaved in one process.

    python tools/ab_kernels.py [--ref REF] [--rounds N] [MODEL.tflite ...]

Shared machines drift by 2x between runs, so comparing two benchmark runs says little. This
loads the working tree's edge_rt and a second copy exported from git REF (default HEAD) under
another package name, packs each model with each, and alternates chunks of 10 timed invokes
between the two for --rounds rounds (single BLAS thread). It prints both medians and their
ratio; below 1 means the working tree is faster. Both outputs must agree bit for bit, else
the model is reported as DIFFERENT. Default models: every *_int8.tflite in ../shared/models."""
from __future__ import annotations

import argparse
import glob
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD = "edge_rt_ab_old"


def export(ref: str, dest: str) -> None:
    """git archive of edge_rt/ and boards/ at ref, with edge_rt/ renamed to OLD (the package
    imports itself relatively, so the copy is independent of the working tree's)."""
    try:
        blob = subprocess.run(["git", "-C", ROOT, "archive", ref, "edge_rt", "boards"], check=True,
                              capture_output=True).stdout
    except subprocess.CalledProcessError as e:
        sys.exit(f"ab_kernels: git archive {ref} failed: {e.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # Python without extraction filters (our own repository's archive)
            tar.extractall(dest)
    os.rename(os.path.join(dest, "edge_rt"), os.path.join(dest, OLD))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", help="models (default: ../shared/models/*_int8.tflite)")
    ap.add_argument("--ref", default="HEAD", help="git commit to compare the working tree with (default HEAD)")
    ap.add_argument("--rounds", type=int, default=30, help="alternations of 10 invokes each (default 30)")
    a = ap.parse_args(argv)
    models = a.models or sorted(glob.glob(os.path.join(ROOT, "..", "shared", "models", "*_int8.tflite")))
    if not models:
        sys.exit("ab_kernels: no models given and none in ../shared/models")
    import numpy as np
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="edge_rt_ab_") as tmp:
        export(a.ref, tmp)
        sys.path[:0] = [ROOT, tmp]
        import importlib
        sides = [(a.ref, importlib.import_module(OLD + ".compiler.pack"), importlib.import_module(OLD + ".interpreter")),
                 ("working tree", importlib.import_module("edge_rt.compiler.pack"),
                  importlib.import_module("edge_rt.interpreter"))]
        print(f"{'model':28s} {a.ref[:12]:>12s} {'working':>10s}  ratio (us, medians)")
        for path in models:
            with open(path, "rb") as f:
                data = f.read()
            its = []
            for _, pk, ip in sides:
                it = ip.Interpreter(pk.pack(data, os.path.basename(path), kernels="np", check_budget=False).binary,
                                    kernels="np")
                its.append(it)
            rng = np.random.default_rng(0)
            xs = [rng.integers(-128, 128, d["shape"]).astype(d["dtype"]) for d in its[0].input_details()]
            outs = []
            for it in its:
                for i, x in enumerate(xs):
                    it.set_input(i, x)
                it.invoke()
                outs.append([np.array(it.get_output(i)) for i in range(len(it.output_details()))])
            same = all(np.array_equal(p, q) for p, q in zip(*outs))
            ts = [[], []]
            for _ in range(a.rounds):
                for j, it in enumerate(its):
                    for _ in range(10):
                        for i, x in enumerate(xs):
                            it.set_input(i, x)
                        t0 = time.perf_counter()
                        it.invoke()
                        ts[j].append(time.perf_counter() - t0)
            old, new = (float(np.median(t)) * 1e6 for t in ts)
            note = "" if same else "  DIFFERENT OUTPUTS"
            print(f"{os.path.basename(path)[:28]:28s} {old:12.1f} {new:10.1f}  {new / old:.3f}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
