"""`edge-rt bench` (latency, load time and peak RSS against TFLite Micro and LiteRT) and the
`--profile` option of `edge-rt run`. The lead's cli.py wires these in:

    from .cli_bench import add_commands, add_profile_args, run_profile
    add_commands(sub)               # registers `bench`
    add_profile_args(run_parser)    # adds --profile / --profile-repeat to `run`
    if a.profile: run_profile(it, a, xs)

Standalone: `python -m edge_rt.host.cli_bench [MODEL.tflite ...] [options]` (same options).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from .bench import BLAS_ENV, LABELS, RUNTIMES, repo_root, run_bench, tflite_io
from .cli_files import model_file, positive_int
from ..errors import EdgeRTError

BENCH_DESC = ("Median invoke latency of edge_rt (C kernels, numpy per op where C lacks an op) against "
              "TFLite Micro, TFLite reference kernels and TFLite XNNPACK, measured interleaved in one run, "
              "each runtime in its own process; also load time, peak RSS and arena bytes against TFLite "
              "Micro's head. Default models: every int8 model in ../shared/models and models/, and the "
              "synthetic MobileNet-v1 96x96 0.25 (edge_rt.testing.mobilenets). See docs/benchmarks.md.")
SYNTHETIC = ("mobilenet_v1_96_025",)   # edge_rt.testing.mobilenets.BENCH_MODELS measured by default


# -- edge-rt bench ------------------------------------------------------------------------
def default_models() -> list[str]:
    """Every int8 .tflite in ../shared/models and models/, each distinct file once."""
    import hashlib
    root = repo_root()
    seen, out = set(), []
    for d in (os.path.join(root, "..", "shared", "models"), os.path.join(root, "models")):
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".tflite"):
                continue
            path = os.path.normpath(os.path.join(d, name))
            with open(path, "rb") as f:
                data = f.read()
            digest = hashlib.sha256(data).hexdigest()
            try:
                is_int8 = tflite_io(data)[2]
            except Exception:
                continue
            if is_int8 and digest not in seen:
                seen.add(digest)
                out.append(path)
    return out


def synthetic_models(tmp: str) -> list[str]:
    """The synthetic models of SYNTHETIC written as .tflite files into tmp (their names kept)."""
    from ..testing.mobilenets import BENCH_MODELS
    out = []
    for name in SYNTHETIC:
        path = os.path.join(tmp, name + ".tflite")
        with open(path, "wb") as f:
            f.write(BENCH_MODELS[name]())
        out.append(path)
    return out


def add_bench_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("models", nargs="*", metavar="MODEL.tflite",
                   help="models to measure (default: every int8 model in ../shared/models and models/, "
                        "and the synthetic MobileNet-v1 96x96)")
    s.add_argument("--synthetic", action=argparse.BooleanOptionalAction, default=None,
                   help=f"also measure the synthetic {', '.join(SYNTHETIC)} (default: only when no models are given)")
    s.add_argument("--repeat", type=positive_int, default=100, metavar="N", help="timed invokes per runtime (default 100)")
    s.add_argument("--warmup", type=int, default=10, metavar="N", help="untimed invokes first (default 10)")
    s.add_argument("--load-repeat", type=positive_int, default=None, metavar="N",
                   help="loads per runtime, load time = their median (default 11; more loads measure the warm "
                        "load, past Python's first-calls specialization)")
    s.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="threads for LiteRT and for numpy's BLAS (default 1)")
    s.add_argument("--runtimes", metavar="LIST", default=",".join(RUNTIMES),
                   help=f"comma-separated subset of {','.join(RUNTIMES)}")
    s.add_argument("--keep-blas-env", action="store_true",
                   help=f"keep {' and '.join(BLAS_ENV)} for the child processes (default: unset them there)")
    s.add_argument("--overhead", action="store_true",
                   help="measure per-op overhead on synthetic 1-op and N-op models instead")
    s.add_argument("--overhead-ops", type=int, default=200, metavar="N", help="ops in the long model (default 200)")
    s.add_argument("--overhead-op", choices=["FULLY_CONNECTED", "RELU"], default="FULLY_CONNECTED",
                   help="the trivial op the synthetic models chain, on a 1x1 int8 tensor")
    s.add_argument("--json", action="store_true", help="print the results as JSON")


def add_commands(subparsers) -> None:
    s = subparsers.add_parser("bench", help="latency / load time / RSS against TFLite Micro and LiteRT",
                              description=BENCH_DESC)
    add_bench_args(s)
    s.set_defaults(fn=cmd_bench)


def _fmt_us(v) -> str:
    return f"{v:,.1f}" if isinstance(v, (int, float)) else "-"


def _macs(n) -> str:
    if n is None:
        return "?"
    for unit, f in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= f:
            return f"{n / f:.2f}{unit}"
    return str(n)


def env_lines(r: dict) -> list[str]:
    e, s = r["env"], r["settings"]
    b = e.get("blas") or {}
    out = [f"python {e['python']}, numpy {b.get('numpy', '?')}, BLAS {b.get('blas', '?')} {b.get('blas_version', '')}"
           f" core {b.get('core', '?')} threads {b.get('blas_threads', '?')}; cpu {e['cpu']} x{e['cores']}",
           f"repeat {s['repeat']} after {s['warmup']} warm-up, threads {s['threads']}, "
           f"load time = median of {s['load_repeat']} loads; times in microseconds (median)"]
    if e["keep_blas_env"]:
        kept = ", ".join(f"{k}={v}" for k, v in e["blas_env_kept"].items()) or "none set"
        out.append(f"BLAS env kept for child processes (--keep-blas-env): {kept}")
    else:
        gone = ", ".join(f"{k}={v}" for k, v in e["blas_env_unset"].items())
        out.append(f"unset for child processes: {gone}" if gone else
                   f"BLAS env: {' / '.join(BLAS_ENV)} not set, nothing unset")
    return out


def format_report(r: dict) -> str:
    rts = r["settings"]["runtimes"]
    peers = [rt for rt in rts if rt != "edge_rt"]
    w = max([16] + [len(m["model"]) for m in r["models"]])
    head = f"{'model':{w}s} {'MACs':>8s} " + " ".join(f"{LABELS[rt]:>14s}" for rt in rts)
    head += "".join(f" {'ours/' + LABELS[rt]:>19s}" for rt in peers if "edge_rt" in rts)
    simd = sorted({m["c_simd"] for m in r["models"] if m.get("c_simd")})
    lines = env_lines(r) + [f"edge_rt: C kernels, SIMD path {', '.join(simd) or '(none: C set not used)'} "
                            f"(CPU features detected at run time); numpy per op where C lacks an op; "
                            f"edge_rt-np: the numpy set", "", "latency (us, median)", head]
    notes = []
    for m in r["models"]:
        cells = []
        for rt in rts:
            v = m["runtimes"].get(rt, {})
            if v.get("median_us") is not None:
                cells.append(f"{_fmt_us(v['median_us']):>14s}")
            else:
                cells.append(f"{v.get('status', '-'):>14s}")
                notes.append(f"  {m['model']} / {LABELS[rt]}: {v.get('note', '')}")
        row = f"{m['model']:{w}s} {_macs(m['macs']):>8s} " + " ".join(cells)
        if "edge_rt" in rts:
            row += "".join(f" {m['ratios'][rt]:>18.2f}x" if rt in m["ratios"] else f" {'-':>19s}"
                           for rt in peers)
        lines.append(row)
    lines += ["", "load time (ms): median of the loads (first load, with lazy imports, in brackets)",
              f"{'model':{w}s} " + " ".join(f"{LABELS[rt]:>18s}" for rt in rts)]
    for m in r["models"]:
        cells = [(f"{v['load_ms']:.2f} ({v['first_load_ms']:.1f})" if v.get("load_ms") is not None else "-")
                 for v in (m["runtimes"].get(rt, {}) for rt in rts)]
        lines.append(f"{m['model']:{w}s} " + " ".join(f"{c:>18s}" for c in cells))
    base = (r["env"]["baseline_rss_kb"] or 0) / 1024
    lines += ["", "arena (bytes): edge_rt's plan for the file it runs (C kernels, their scratch included), "
              "edge_rt-np's, and TFLite Micro's head (its own figure: print_allocations)",
              f"{'model':{w}s} {'edge_rt':>10s} {'edge_rt-np':>10s} {'TFLM head':>10s} {'edge_rt/head':>13s}"]
    for m in r["models"]:
        a, head, st = m.get("arena_bytes"), m.get("tflm_head_bytes"), m.get("state_bytes") or 0
        cells = [f"{v:,}" if isinstance(v, int) else "-" for v in (a, m.get("arena_bytes_np"), head)]
        ratio = f"{(a - st) / head:.3f}" if isinstance(a, int) and head else "-"
        lines.append(f"{m['model']:{w}s} " + " ".join(f"{c:>10s}" for c in cells) + f" {ratio:>13s}"
                     + (f"  (state region {st:,} B apart: TFLM keeps variables in its tail)" if st else ""))
    lines += ["", f"peak RSS (MB): raw (over the numpy-only baseline of {base:.1f} MB in brackets)",
              f"{'model':{w}s} " + " ".join(f"{LABELS[rt]:>18s}" for rt in rts)]
    for m in r["models"]:
        cells = []
        for v in (m["runtimes"].get(rt, {}) for rt in rts):
            if v.get("rss_kb") is None:
                cells.append("-")
                continue
            over = v.get("rss_over_baseline_kb")
            cells.append(f"{v['rss_kb'] / 1024:.1f}" + (f" (+{over / 1024:.1f})" if over is not None else ""))
        lines.append(f"{m['model']:{w}s} " + " ".join(f"{c:>18s}" for c in cells))
    bad = [f"  {m['model']} / {LABELS[rt]}: output differs from TFLM"
           + (" (NOT BIT-EXACT)" if rt == "edge_rt" else "")
           for m in r["models"] for rt, v in m["runtimes"].items() if v.get("output_matches_tflm") is False]
    if notes:
        lines += ["", "notes:"] + notes
    if bad:
        lines += ["", "outputs that differ from TFLite Micro's on the same random input (expected for "
                  "XNNPACK; see DESIGN.md for LiteRT-ref's FULLY_CONNECTED):"] + bad
    return "\n".join(lines)


# -- per-op overhead ----------------------------------------------------------------------
def chain_model(n: int, op: str = "FULLY_CONNECTED") -> bytes:
    """n trivially small ops chained on a 1x1 int8 tensor."""
    import numpy as np
    from ..testing.tflite_builder import ModelBuilder
    b = ModelBuilder()
    x = first = b.tensor("x0", (1, 1), "int8", scale=0.05, zero_point=0)
    for i in range(n):
        y = b.tensor(f"x{i + 1}", (1, 1), "int8", scale=0.05, zero_point=0)
        if op == "FULLY_CONNECTED":
            w = b.const(f"w{i}", np.array([[64]], np.int8), scale=0.01, zero_point=0)
            bias = b.const(f"b{i}", np.array([3], np.int32), scale=0.05 * 0.01, zero_point=0)
            b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction="NONE")
        else:
            b.op(op, [x], [y])
        x = y
    return b.build(inputs=[first], outputs=[x])


CHAIN_KEEP = ("fuse_lookup_chain",)


def run_overhead(n: int, op: str, **kw) -> dict:
    if n < 2:
        raise EdgeRTError(f"--overhead-ops must be at least 2, got {n}")
    with tempfile.TemporaryDirectory(prefix="edge_rt_overhead_") as tmp:
        paths = []
        for k in (1, n):
            p = os.path.join(tmp, f"chain_{op.lower()}_{k}.tflite")
            with open(p, "wb") as f:
                f.write(chain_model(k, op))
            paths.append(p)
        # a chain of per-element ops would collapse into one LOOKUP: keep it n ops
        r = run_bench(paths, disable=CHAIN_KEEP, **kw)
    one, many = r["models"]
    res = {}
    for rt in r["settings"]["runtimes"]:
        a, b = one["runtimes"].get(rt, {}), many["runtimes"].get(rt, {})
        if a.get("median_us") is None or b.get("median_us") is None:
            res[rt] = {"status": (b if a.get("median_us") is not None else a).get("status", "-"),
                       "note": (b if a.get("median_us") is not None else a).get("note", "")}
            continue
        res[rt] = {"status": "ok", "one_op_us": a["median_us"], "n_op_us": b["median_us"],
                   "per_op_us": (b["median_us"] - a["median_us"]) / (n - 1)}
    r["overhead"] = {"op": op, "ops": n, "runtimes": res, "passes_disabled": list(CHAIN_KEEP)}
    return r


def format_overhead(r: dict) -> str:
    o = r["overhead"]
    lines = env_lines(r) + ["", f"per-op overhead: chains of {o['op']} on a 1x1 int8 tensor, "
                            f"(latency({o['ops']} ops) - latency(1 op)) / {o['ops'] - 1}; edge_rt packed "
                            f"without {', '.join(o['passes_disabled'])} (it would merge the chain into one op)",
                            f"{'runtime':16s} {'1 op us':>10s} {str(o['ops']) + ' ops us':>12s} {'per op us':>10s}"]
    for rt, v in o["runtimes"].items():
        if v["status"] != "ok":
            lines.append(f"{LABELS[rt]:16s} {v['note']}")
        else:
            lines.append(f"{LABELS[rt]:16s} {v['one_op_us']:10.1f} {v['n_op_us']:12.1f} {v['per_op_us']:10.2f}")
    return "\n".join(lines)


def cmd_bench(a) -> int:
    rts = tuple(x.strip() for x in a.runtimes.split(",") if x.strip())
    bad = [x for x in rts if x not in RUNTIMES]
    if bad or not rts:
        raise EdgeRTError(f"unknown runtime {', '.join(bad) or '(none)'}; known: {', '.join(RUNTIMES)}")
    if a.repeat < 1 or a.warmup < 0 or a.threads < 1:
        raise EdgeRTError("--repeat and --threads must be >= 1, --warmup >= 0")
    log = (lambda s: print(s, file=sys.stderr, flush=True))
    kw = dict(repeat=a.repeat, warmup=a.warmup, threads=a.threads, keep_blas_env=a.keep_blas_env,
              runtimes=rts, log=log)
    if a.load_repeat is not None:
        kw["load_repeat"] = a.load_repeat
    if a.overhead:
        r = run_overhead(a.overhead_ops, a.overhead_op, **kw)
        print(json.dumps(r, indent=2) if a.json else format_overhead(r))
        return 0
    paths = a.models or default_models()
    for p in paths:
        model_file(p)
    with tempfile.TemporaryDirectory(prefix="edge_rt_bench_models_") as tmp:
        if a.synthetic or (a.synthetic is None and not a.models):
            paths = paths + synthetic_models(tmp)
        if not paths:
            raise EdgeRTError("no models given and none found in ../shared/models or models/")
        log(f"benchmarking {len(paths)} model(s): {', '.join(os.path.basename(p) for p in paths)}")
        r = run_bench(paths, **kw)
    print(json.dumps(r, indent=2) if a.json else format_report(r))
    return 0


# -- edge-rt run --profile ----------------------------------------------------------------
def add_profile_args(run_parser: argparse.ArgumentParser) -> None:
    run_parser.add_argument("--profile", action="store_true",
                            help="time every op: type, output shape, MACs, median time, share, MAC/s")
    run_parser.add_argument("--profile-repeat", type=positive_int, default=50, metavar="N",
                            help="passes the per-op medians are taken over (default 50)")


def run_profile(it, args, inputs=None) -> dict:
    """Print the per-op profile of a loaded Interpreter and return it. inputs: arrays to feed
    (default: args.input .npy files if given, else random with args.seed)."""
    from .inputs import load_npy, random_inputs
    from .profile_ops import format_profile, profile
    if inputs is None:
        files = getattr(args, "input", None) or []
        specs = [(d["shape"], d["dtype"]) for d in it.input_details()]
        if files:
            inputs = [load_npy(f, *spec) for f, spec in zip(files, specs)]
        else:
            inputs = random_inputs(specs, getattr(args, "seed", 0) or 0)
    p = profile(it, inputs, getattr(args, "profile_repeat", 50))
    print(f"per-op profile (kernels {it.kernel_set}):")
    print(format_profile(p))
    return p


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="edge-rt bench", description=BENCH_DESC)
    add_bench_args(p)
    a = p.parse_args(argv)
    try:
        return cmd_bench(a)
    except EdgeRTError as e:
        for line in str(e).splitlines() or [""]:
            print(f"edge-rt: error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
