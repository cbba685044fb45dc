"""Latency profiling: percentiles over many inferences and a per-op breakdown, locally
(timing each prebound op callable of an Interpreter) or on a board through the agent.
Plots (latency histogram, per-op bars) need matplotlib (the `plot` extra)."""
from __future__ import annotations

import time

import numpy as np

from ..errors import EdgeRTError


def percentiles(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise EdgeRTError("no latency samples")
    p50, p90, p99 = np.percentile(v, [50, 90, 99])
    return {"n": int(v.size), "min": float(v.min()), "p50": float(p50), "p90": float(p90),
            "p99": float(p99), "max": float(v.max()), "mean": float(v.mean())}


def op_costs(m) -> list[dict]:
    """MACs and bytes touched per op of a reader.Model (the inputs the kernel reads, weights
    included, plus the outputs it writes). MACs are the conv/dw/fc multiply-accumulates,
    fused ops' parts included, counted by profile_ops.reader_op_macs as `run --profile` does;
    other ops count 0 MACs and only move bytes."""
    from .profile_ops import reader_op_macs
    out = []
    ts = m.tensors
    for op in m.ops:
        macs = reader_op_macs(m, op)[1]
        nbytes = sum(ts[i].nbytes for i in op.inputs if i >= 0) + sum(ts[i].nbytes for i in op.outputs)
        out.append({"index": op.index, "type": op.name, "macs": int(macs), "bytes": int(nbytes)})
    return out


def _ops_table(names, per_op_us, costs=None) -> list[dict]:
    total = sum(per_op_us) or 1.0
    rows = []
    for i, (name, us) in enumerate(zip(names, per_op_us)):
        r = {"index": i, "type": name, "us": float(us), "share": float(us) / total}
        if costs:
            r["macs"] = costs[i]["macs"]
            r["bytes"] = costs[i]["bytes"]
        rows.append(r)
    return rows


def local_profile(model, runs: int = 200, warmup: int = 10, kernels=None, inputs=None,
                  seed: int = 0) -> dict:
    """Time `runs` inferences of a local .ert (path or bytes) and, separately, each op.

    Whole-inference latencies come from plain invoke() calls (no instrumentation); the per-op
    times are medians over runs of the Interpreter's prebound op callables (`op_steps()`, one per op
    in schedule order) timed one by one, so their sum is close to but not exactly the p50."""
    from ..interpreter import Interpreter
    if runs <= 0:
        raise EdgeRTError("--runs must be > 0")
    it = Interpreter(model, kernels=kernels)
    if inputs is None:
        from .inputs import random_inputs
        inputs = random_inputs([(d["shape"], d["dtype"]) for d in it.input_details()], seed)

    def feed():  # the plan may reuse an input's bytes: set inputs before every invoke
        for i, x in enumerate(inputs):
            it.set_input(i, x)
    for _ in range(max(0, warmup)):
        feed()
        it.invoke()
    lat = []
    for _ in range(runs):
        feed()
        t0 = time.perf_counter_ns()
        it.invoke()
        lat.append((time.perf_counter_ns() - t0) / 1000.0)
    fns = it.op_steps()
    per = np.zeros((runs, len(fns)))
    clock = time.perf_counter_ns
    for r in range(runs):
        feed()
        for j, fn in enumerate(fns):
            t0 = clock()
            fn()
            per[r, j] = clock() - t0
    med = np.median(per, axis=0) / 1000.0 if len(fns) else np.zeros(0)
    names = [op.name for op in it.model.ops]
    return {"where": "local", "kernels": it.kernel_set, "latency_us": lat, "stats": percentiles(lat),
            "ops": _ops_table(names, med.tolist(), op_costs(it.model)), "model": it.model,
            "interpreter": it, "inputs": inputs}


def remote_profile(dev, runs: int = 100, warmup: int = 10, data: bytes | None = None,
                   op_runs: int = 10) -> dict:
    """Latency of `runs` single inferences on the board (device clock, m-lap-us stamps around
    each `infer 1 0`) and the device's per-op medians (`ert-ops`)."""
    if runs <= 0:
        raise EdgeRTError("--runs must be > 0")
    desc = dev.info()
    if data is None:
        data = random_input_bytes(desc)
    dev.load_input(data)
    if warmup:
        dev.infer(1, warmup)
    lat = []
    for _ in range(runs):
        r = dev.infer(1, 0)
        if r.elapsed_us >= 0:   # a wrapped device tick counter gives one bogus window: drop it
            lat.append(float(r.elapsed_us))
    ops = dev.ops(op_runs)
    return {"where": dev.link.port, "model_name": desc.name, "latency_us": lat,
            "stats": percentiles(lat), "ops": _ops_table([o[1] for o in ops], [o[2] for o in ops]),
            "desc": desc}


def random_input_bytes(desc, seed: int = 0) -> bytes:
    """The random inputs `edge-rt run --seed SEED` feeds locally, as the agent's input bytes."""
    from .inputs import random_inputs, to_le_bytes
    return to_le_bytes(random_inputs([(t.shape, t.dtype) for t in desc.inputs], seed))


def format_report(r: dict) -> str:
    s = r["stats"]
    lines = [f"latency over {s['n']} inferences ({r['where']}"
             + (f", kernels {r['kernels']}" if r.get("kernels") else "") + "):",
             f"  p50 {s['p50']:,.1f} us   p90 {s['p90']:,.1f} us   p99 {s['p99']:,.1f} us   "
             f"(min {s['min']:,.1f}, max {s['max']:,.1f}, mean {s['mean']:,.1f})",
             "per op (median us):"]
    for o in r["ops"]:
        extra = ""
        if "macs" in o:
            extra = f"  {o['macs']:>12,} MACs  {o['bytes']:>10,} B"
        lines.append(f"  {o['index']:3d} {o['type']:20s} {o['us']:>11,.1f} us  {100 * o['share']:5.1f}%{extra}")
    by_type: dict = {}
    for o in r["ops"]:
        by_type[o["type"]] = by_type.get(o["type"], 0.0) + o["us"]
    if len(by_type) > 1:
        lines.append("per op type:")
        total = sum(by_type.values()) or 1.0
        for k, v in sorted(by_type.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {k:24s} {v:>11,.1f} us  {100 * v / total:5.1f}%")
    return "\n".join(lines)


def need_matplotlib():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise EdgeRTError("plots need matplotlib, which is not installed: "
                          "pip install 'edge-rt[plot]' (or pip install matplotlib)") from None
    return plt


def plot_latency(lat_us, path: str, title: str = "inference latency"):
    plt = need_matplotlib()
    s = percentiles(lat_us)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(lat_us, bins=min(60, max(10, len(lat_us) // 5)), color="#4c72b0")
    for k, c in (("p50", "k"), ("p90", "#dd8452"), ("p99", "#c44e52")):
        ax.axvline(s[k], color=c, linestyle="--", label=f"{k} {s[k]:,.1f} us")
    ax.set_xlabel("latency (us)")
    ax.set_ylabel("inferences")
    ax.set_title(f"{title} ({s['n']} runs)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_ops(ops, path: str, title: str = "time per op"):
    plt = need_matplotlib()
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.28 * len(ops) + 1)))
    labels = [f"{o['index']} {o['type']}" for o in ops]
    ax.barh(range(len(ops)), [o["us"] for o in ops], color="#55a868")
    ax.set_yticks(range(len(ops)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("median time (us)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
