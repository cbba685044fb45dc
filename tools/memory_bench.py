#!/usr/bin/env python3
"""Activation memory of edge_rt's static plans against TFLite Micro, model by model.

For every int8 .tflite in ../shared/models (relative to the repo root), the synthetic models of
edge_rt.testing.mobilenets (MobileNet-v1 96x96 0.25 = TFLite Micro's person_detect shape,
MobileNet-v2 style, a 1-D DS-CNN) and any given on the command line it reports:
  ref arena   our arena for the pure-Python kernel set (the MCU target: kernels use no scratch)
  C arena     our arena for the C kernel set (its scratch included; the Linux boards' default)
  np arena    our arena for the numpy kernel set (its scratch included)
  lower bound the largest sum of live buffers at any op for the ref plan (16-byte aligned,
              in-place pairs counted once): no static plan of this schedule can use less
  seq bound   the sequential lower bound: the model's own schedule (only RESHAPE aliased)
              with every tensor whole, nothing fused, in place or overlapped
  extra MACs  recompute of patch-based streaming, % of the model's MACs
  TFLM head   TFLite Micro's non-persistent bytes ("Arena allocation head" of
              print_allocations(), i.e. its greedy planner's activation area)
  TFLM arena  the smallest arena_size TFLite Micro accepts (bisection): head plus tail
              (tensor structs, op data, its planner's bookkeeping, resource variables)
  state       streaming models: our persistent state region, part of our arena; TFLite Micro
              keeps its resource variables in the tail, so the head checks and "ref/head" compare
              our arena without the state with TFLM's head
and checks the targets for the ref plan: <= TFLM head on every model, == lower bound on every
chain model (each op reads only the previous op's output), < TFLM's whole arena, below the
sequential bound on every model with a depthwise-separable block or a residual, <= 0.6x TFLM
head on the models of SIXTY, extra MACs <= 15%; and the C plan <= TFLM head on every model.

A model that does not pack is reported as "unsupported: <first reason>"; a model TFLite Micro
cannot load shows "-" in its columns.

    python tools/memory_bench.py                 # table
    python tools/memory_bench.py --json          # machine-readable
    python tools/memory_bench.py extra.tflite --no-tflm --no-synthetic
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
DEFAULT_DIR = os.path.normpath(os.path.join(ROOT, "..", "shared", "models"))
SIXTY = ("mobilenet_v1_96_025", "kws_dscnn_int8", "ic_resnet8_int8")   # <= 0.6x TFLM head
MAX_EXTRA_MACS = 0.15
MEMORY_PASSES = ("fuse_depthwise_separable", "fuse_residual", "schedule_projection_first", "stream_patches")



def tflm_memory(path: str, timeout: float = 300) -> dict:
    """{'head', 'tail', 'total', 'min_arena'} from TFLite Micro (edge_rt/host/tflm_memory.py), or {'error': ...}."""
    from edge_rt.host.tflm_memory import tflm_memory as probe
    return probe(path, bisect=True, timeout=timeout)


def is_int8_model(data: bytes) -> bool:
    import tflite as S
    sg = S.Model.GetRootAsModel(data, 0).Subgraphs(0)
    types = [sg.Tensors(sg.Inputs(i)).Type() for i in range(sg.InputsLength())]
    return bool(types) and all(t in (S.TensorType.INT8, S.TensorType.INT16) for t in types)


def is_chain(g) -> bool:
    """Each op reads only activations written by the op just before it (op 0: graph inputs)."""
    from edge_rt.compiler.planner import root
    prev = {root(g, t) for t in g.inputs}
    for op in g.ops:
        acts = {root(g, t) for t in (op.kernel_inputs or op.inputs) if t >= 0 and not g.tensors[t].is_const}
        if not acts <= prev:
            return False
        prev = {root(g, t) for t in op.outputs}
    return True


def ours(data: bytes, name: str, ks: str) -> dict:
    from edge_rt.compiler.pack import pack
    from edge_rt.compiler.passes import pass_names
    from edge_rt.compiler.passes.patch_streaming import model_macs
    from edge_rt.compiler.planner import sequential_bound
    from edge_rt.errors import EdgeRTError, UnsupportedModelError
    try:
        r = pack(data, name, kernels=ks, check_budget=False)
        seq = pack(data, name, kernels=ks, check_budget=False,
                   disable=tuple(p for p in pass_names() if p != "eliminate_reshape"))
    except UnsupportedModelError as e:
        return {"unsupported": (e.problems or [str(e)])[0]}
    except EdgeRTError as e:
        return {"unsupported": str(e).splitlines()[0]}
    notes = dict(r.pass_report)
    extra = sum(op.options.get("extra_macs", 0) for op in r.graph.ops if op.type == "PATCH_STREAM")
    macs = model_macs(r.graph) - extra
    return {"arena": r.plan.arena_bytes, "lower_bound": r.plan.lower_bound, "state": r.plan.state_bytes,
            "strategy": r.plan.strategy,
            "ops": len(r.graph.ops), "chain": is_chain(r.graph), "inplace": r.plan.inplace,
            "overlaps": r.plan.overlaps, "seq_bound": sequential_bound(seq.graph),
            "ds_or_residual": bool(notes.get("fuse_depthwise_separable") or notes.get("fuse_residual")),
            "patched": notes.get("stream_patches", ""), "extra_macs": extra, "macs": macs,
            "extra_macs_pct": 100.0 * extra / macs if macs else 0.0}


def c_plan(data: bytes, name: str) -> dict:
    """The C kernel set's plan (packs on any host: compiler/kernel_sets.py reads kernels/c/ops.py):
    arena, state, whether every op runs on C, and the bytes of its ops' scratch."""
    from edge_rt.compiler.pack import pack
    from edge_rt.errors import EdgeRTError, UnsupportedModelError
    try:
        r = pack(data, name, kernels="c", check_budget=False)
    except UnsupportedModelError as e:
        return {"unsupported": (e.problems or [str(e)])[0]}
    except EdgeRTError as e:
        return {"unsupported": str(e).splitlines()[0]}
    return {"arena": r.plan.arena_bytes, "state": r.plan.state_bytes, "lower_bound": r.plan.lower_bound,
            "all_c": all(op.kernel_set == "c" for op in r.graph.ops),
            "scratch": sum(op.scratch_bytes for op in r.graph.ops), "overlaps": r.plan.overlaps}


def measure(path: str, tflm: bool = True) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path)
    row = {"model": os.path.splitext(name)[0], "path": path}
    row["ref"] = ours(data, name, "ref")
    row["np"] = ours(data, name, "np")
    row["c"] = c_plan(data, name)
    row["tflm"] = tflm_memory(path) if tflm else {"error": "skipped (--no-tflm)"}
    ref, t = row["ref"], row["tflm"]
    if "arena" in ref:
        checks = {}
        if "head" in t:
            checks["<= TFLM head"] = ref["arena"] - ref["state"] <= t["head"]
        if ref["chain"]:
            checks["== lower bound"] = ref["arena"] == ref["lower_bound"]
        if "min_arena" in t:
            checks["< TFLM arena"] = ref["arena"] < t["min_arena"]
        if ref["ds_or_residual"]:
            checks["< seq bound"] = ref["arena"] - ref["state"] < ref["seq_bound"]  # (state: apart, as above)
        if row["model"] in SIXTY and "head" in t:
            checks["<= 0.6 head"] = ref["arena"] - ref["state"] <= 0.6 * t["head"]
        checks["extra MACs <= 15%"] = ref["extra_macs_pct"] <= 100 * MAX_EXTRA_MACS
        c = row["c"]
        if "arena" in c and "head" in t:
            checks["C <= TFLM head"] = c["arena"] - c["state"] <= t["head"]
        row["targets"] = checks
    return row


def _n(v) -> str:
    return f"{v:,}" if isinstance(v, int) else "-"


def _ratio(a, b) -> str:
    return f"{a / b:.3f}" if isinstance(a, int) and isinstance(b, int) and b else "-"


def table(rows: list) -> str:
    hdr = ("model", "ref arena", "C arena", "np arena", "lower bnd", "seq bnd", "TFLM head", "TFLM arena", "ref/head", "C/head",
           "ref/seq", "ref/TFLM", "+MACs", "targets")
    lines = [hdr]
    notes = []
    for r in rows:
        ref, np_, t, c = r["ref"], r["np"], r["tflm"], r.get("c", {})
        if "unsupported" in ref:
            notes.append(f"{r['model']}: unsupported: {ref['unsupported']}")
        if "error" in t:
            notes.append(f"{r['model']}: TFLite Micro: {t['error']}")
        tg = r.get("targets", {})
        verdict = ("ok" if all(tg.values()) else "MISS " + ", ".join(k for k, v in tg.items() if not v)) if tg else "-"
        lines.append((r["model"], _n(ref.get("arena")) if "arena" in ref else "unsupported",
                      _n(c.get("arena")) if "arena" in c else "unsupported",
                      _n(np_.get("arena")) if "arena" in np_ else "unsupported",
                      _n(ref.get("lower_bound")), _n(ref.get("seq_bound")), _n(t.get("head")),
                      _n(t.get("min_arena")), _ratio(ref["arena"] - ref["state"] if "arena" in ref else None, t.get("head")),
                      _ratio(c["arena"] - c["state"] if "arena" in c else None, t.get("head")),
                      _ratio(ref["arena"] - ref["state"] if "arena" in ref else None, ref.get("seq_bound")), _ratio(ref.get("arena"), t.get("min_arena")),
                      f"{ref['extra_macs_pct']:.1f}%" if "extra_macs_pct" in ref else "-", verdict))
    w = [max(len(str(l[i])) for l in lines) for i in range(len(hdr))]
    out = ["  ".join(str(c).ljust(w[i]) if i in (0, len(hdr) - 1) else str(c).rjust(w[i])
                     for i, c in enumerate(l)).rstrip() for l in lines]
    out.insert(1, "  ".join("-" * x for x in w))
    out.append("")
    out.append("bytes; ref = pure-Python kernels (the MCU plan), C = the C kernel set's plan (its scratch included), "
               "np = numpy kernels (with scratch); lower bound, "
               "seq bnd (sequential bound: unfused schedule, every tensor whole) and the ratios but C/head are for the ref plan; "
               "TFLM arena = smallest arena_size TFLite Micro runs with; +MACs = patch recompute")
    return "\n".join(out + notes)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="Figures are bytes of activation memory.")
    p.add_argument("models", nargs="*", metavar="MODEL.tflite", help="extra models to measure")
    p.add_argument("--dir", default=DEFAULT_DIR, help="folder of int8 .tflite models (default: ../shared/models)")
    p.add_argument("--only", action="append", metavar="NAME", help="measure only models whose file name "
                   "contains NAME (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--no-tflm", action="store_true", help="skip the TFLite Micro measurements")
    p.add_argument("--no-synthetic", action="store_true", help="skip the synthetic MobileNet / DS-CNN models")
    a = p.parse_args(argv)
    paths = sorted(glob.glob(os.path.join(a.dir, "*.tflite"))) if os.path.isdir(a.dir) else []
    found = []
    for path in paths:
        with open(path, "rb") as f:
            if is_int8_model(f.read()):
                found.append(path)
    if not a.no_synthetic:
        import tempfile
        from edge_rt.testing.mobilenets import BENCH_MODELS
        tmp = tempfile.mkdtemp(prefix="memory_bench_")
        for name, build in BENCH_MODELS.items():
            path = os.path.join(tmp, name + ".tflite")
            with open(path, "wb") as f:
                f.write(build())
            found.append(path)
    found += [m for m in a.models if m not in found]
    if a.only:
        found = [m for m in found if any(s in os.path.basename(m) for s in a.only)]
    if not found:
        print(f"memory_bench: no int8 .tflite models in {a.dir} and none given", file=sys.stderr)
        return 1
    rows = []
    for path in found:
        if not os.path.exists(path):
            print(f"memory_bench: {path}: no such file", file=sys.stderr)
            return 1
        rows.append(measure(path, tflm=not a.no_tflm))
    print(json.dumps(rows, indent=2) if a.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
