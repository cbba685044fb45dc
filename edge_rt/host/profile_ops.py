"""Per-op profile of a loaded Interpreter and MAC counts (host side).

The profiler times each prebound callable of `Interpreter.op_steps()` (one zero-argument closure
per op, in schedule order), so nothing in `invoke()` changes and profiling costs nothing
when it is off. MAC counts come from tensor shapes only, so the same function serves the
host IR (`compiler.ir.Graph`) and the device reader's `Model`:

    CONV_2D            out elements x KH x KW x IC      (filter OHWI)
    DEPTHWISE_CONV_2D  out elements x KH x KW           (filter 1 x KH x KW x OC)
    FULLY_CONNECTED    out elements x K                 (weights N x K)
    element-wise ops   out elements
    everything else    0 (pooling, softmax, reshape, pad, concat, mean: no MACs to speak of)
Fused ops count their parts (CONV_2D_ADD, FULLY_CONNECTED_ADD: conv/fc + one add per output;
DS_CONV_2D: dw + 1x1). The model's MAC count is conv/dw/fc only: graph_macs on the IR,
the gemm part of reader_op_macs on a packed file; every tool (run --profile, profile, the
energy estimate, bench) counts with these two, so fused and unfused files give one figure.
"""
from __future__ import annotations

import time

from .. import format as F

GEMM_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
ELEMENTWISE_OPS = ("ADD", "SUB", "MUL", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH",
                   "LOGISTIC", "TANH", "QUANTIZE", "DEQUANTIZE")


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def op_macs(op_type: str, input_shapes, output_shape) -> int:
    """MACs of one op from its shapes; input_shapes[1] is the filter/weights of conv/dw/fc."""
    out = _prod(output_shape)
    if op_type in GEMM_OPS:
        if len(input_shapes) < 2 or not input_shapes[1]:
            return 0
        w = tuple(input_shapes[1])
        if op_type == "CONV_2D":
            return out * _prod(w[1:])
        if op_type == "DEPTHWISE_CONV_2D":
            return out * w[1] * w[2]
        return out * w[-1]
    if op_type in ELEMENTWISE_OPS:
        return out
    return 0


def reader_op_macs(model, op) -> tuple[int, int]:
    """(MACs, of which conv/dw/fc MACs) of a reader.OpInfo. Its inputs are the kernel inputs:
    [input, filter, ...] for conv/dw/fc; the fused ops made by compiler passes carry their
    parts' kernel inputs back to back (see compiler/prepare/fused.py)."""
    if not op.outputs:
        return 0, 0
    shape = lambda k: model.tensors[op.inputs[k]].shape if len(op.inputs) > k and op.inputs[k] >= 0 else ()
    out_shape = model.tensors[op.outputs[0]].shape
    out = _prod(out_shape)
    w = shape(1)
    if op.name in ("FULLY_CONNECTED", "FULLY_CONNECTED_ADD") and len(w) == 4 and out:
        # a C pack's weights are their VNNI packing (4-D): the logical (N, K) from the bias and input
        n = _prod(shape(2))
        w = (n, _prod(shape(0)) * n // out)
    try:
        if op.name in ("CONV_2D_ADD", "FULLY_CONNECTED_ADD"):  # conv/fc, then one add per output
            conv = op_macs(op.name[:-4], [shape(0), w], out_shape)
            return conv + out, conv
        if op.name == "PATCH_STREAM":
            return patch_stream_macs(model, op)
        if op.name == "DS_CONV_2D":  # depthwise KHxKW on C channels, then 1x1 conv C -> OC
            dw, pw = shape(1), shape(5)
            c, oc = dw[3], pw[0]
            gemm = out // oc * c * dw[1] * dw[2] + out * pw[-1]
            return gemm, gemm
    except (IndexError, ZeroDivisionError):  # a fused layout this version does not know
        return 0, 0
    macs = op_macs(op.name, [shape(0), w], out_shape)
    return macs, macs if op.name in GEMM_OPS else 0


def patch_stream_macs(model, op) -> tuple[int, int]:
    """(MACs, of which conv/dw MACs) a PATCH_STREAM op executes, halo recompute included: per
    patch and sub-op, its patch output pixels times the sub-op's MACs per pixel (record layout:
    compiler/prepare/patch_stream.py). A residual sub-op (CONV_2D_ADD) adds one per output element."""
    prm, ins = op.params, op.inputs
    n_sub, n_patch = prm[0], prm[1]
    at, k = 6, 1
    px = []
    for _ in range(n_sub):
        code, n_const, n_par, oc = prm[at], prm[at + 1], prm[at + 2], prm[at + 3]
        w = model.tensors[ins[k]].shape
        name = F.OP_NAMES.get(code, "")
        if name in ("CONV_2D", "CONV_2D_ADD"):
            px.append((w[1] * w[2] * w[3] * oc, oc if name == "CONV_2D_ADD" else 0))
        elif name == "DEPTHWISE_CONV_2D":
            px.append((w[1] * w[2] * oc, 0))
        else:  # DS_CONV_2D
            px.append((w[1] * w[2] * w[3] + w[3] * oc, 0))
        k += n_const
        at += 5 + n_par
    gemm = adds = 0
    for _ in range(n_patch):
        at += 6
        for j in range(n_sub):
            gemm += prm[at] * prm[at + 1] * px[j][0]
            adds += prm[at] * prm[at + 1] * px[j][1]
            at += 6
    return gemm + adds, gemm


def graph_macs(g) -> int:
    """Conv/depthwise/FC MACs of a compiler IR graph: the model's MAC count."""
    total = 0
    for op in g.ops:
        if op.type in GEMM_OPS and op.outputs:
            shapes = [g.tensors[t].shape if t >= 0 else () for t in op.inputs[:2]]
            total += op_macs(op.type, shapes, g.tensors[op.outputs[0]].shape)
    return total


def _set_inputs(it, inputs):
    for i, x in enumerate(inputs):
        it.set_input(i, x)


def profile(it, inputs, repeat: int = 50) -> dict:
    """Time every op of `it` over `repeat` passes (after one warm-up pass).

    The plan may reuse an input's bytes once consumed, so inputs are set before every pass
    (untimed). Returns {"ops": [row, ...], "sum_us", "invoke_us", "repeat"}; each row has
    index, type, output shape, macs, median time (us), share of the sum and MAC/s."""
    repeat = max(1, int(repeat))
    run = it.op_steps()
    m = it.model
    clock = time.perf_counter
    samples = [[] for _ in run]
    for r in range(repeat + 1):
        _set_inputs(it, inputs)
        for i, fn in enumerate(run):
            t0 = clock()
            fn()
            dt = clock() - t0
            if r:
                samples[i].append(dt)
    # the unprofiled invoke() over the same inputs, to show what the per-op timers add
    whole = []
    for _ in range(repeat):
        _set_inputs(it, inputs)
        t0 = clock()
        it.invoke()
        whole.append(clock() - t0)
    rows = []
    for op, ts in zip(m.ops, samples):
        med = _median(ts)
        macs, gemm = reader_op_macs(m, op)
        rows.append({"index": op.index, "type": op.name,
                     "output_shape": list(m.tensors[op.outputs[0]].shape) if op.outputs else [],
                     "macs": macs, "gemm_macs": gemm, "time_us": med * 1e6,
                     "macs_per_s": macs / med if macs and med > 0 else 0.0})
    total = sum(r["time_us"] for r in rows)
    for r in rows:
        r["share"] = r["time_us"] / total if total > 0 else 0.0
    return {"ops": rows, "sum_us": total, "invoke_us": _median(whole) * 1e6, "repeat": repeat,
            "macs": sum(r["gemm_macs"] for r in rows)}


def _median(xs):
    s = sorted(xs)
    n = len(s)
    if not n:
        return 0.0
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _rate(x: float) -> str:
    for unit, f in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if x >= f:
            return f"{x / f:.2f}{unit}"
    return f"{x:.0f}"


def format_profile(p: dict) -> str:
    lines = [f"{'op':>4s}  {'type':20s} {'output shape':18s} {'MACs':>12s} {'time us':>10s} "
             f"{'share':>6s} {'MAC/s':>10s}"]
    for r in p["ops"]:
        rate = _rate(r["macs_per_s"]) if r["macs"] else "-"
        lines.append(f"{r['index']:4d}  {r['type']:20s} {str(tuple(r['output_shape'])):18s} "
                     f"{r['macs']:12,d} {r['time_us']:10.1f} {100 * r['share']:5.1f}% {rate:>10s}")
    gemm_rate = p["macs"] / (p["sum_us"] * 1e-6) if p["sum_us"] > 0 else 0.0
    lines.append(f"total: {p['sum_us']:,.1f} us (sum of per-op medians over {p['repeat']} passes); "
                 f"invoke() median {p['invoke_us']:,.1f} us; conv/dw/fc MACs {p['macs']:,} "
                 f"({_rate(gemm_rate)} MAC/s overall)")
    return "\n".join(lines)
