"""Test vectors for the C kernels' cross-architecture check (tools/xarch_check.sh, driver.c).

Each model is packed for the C set and its C op records (opcode, params, operands, exactly as
the Interpreter binds them) are written with its constants into one .ertv file, plus cases: an
arena image to start from (the driver fills the rest of the arena with a fixed pattern) and the
bytes some arena spans must hold afterwards, 0 LSB.
- A model that runs wholly on C: one case per trial, the model's input and TFLite Micro's output.
- A model where some ops fall back to numpy: one case per C op per trial, whose inputs and
  expected outputs are captured op by op from a run of the same file on the pure-Python
  specification kernels (kernels="ref": the one set that may run ops planned for C, so the graph
  and tensors are the C plan's own), which must match TFLite Micro at the model's outputs first
  (so every value is reference-exact).
Models: single-op and fused models from the conformance sweeps' builders (tests/), several
cases each, for every op kind edge_rt runs: whichever of them the C set implements
(edge_rt/kernels/c/ops.py OPS) yield vectors, so a new C op is picked up without changes here;
and the real models in ../shared/models. Every op in OPS must get vectors, else this fails.

usage: python tools/xarch/make_vectors.py OUT_DIR [--quick]"""
from __future__ import annotations

import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from edge_rt import format as F  # noqa: E402
from edge_rt.compiler.pack import pack  # noqa: E402
from edge_rt.interpreter import Interpreter  # noqa: E402
from edge_rt.kernels.c.ops import OPS  # noqa: E402
from edge_rt.testing import shared_models  # noqa: E402
from edge_rt.testing.reference import TFLM, random_input  # noqa: E402

MAGIC = b"ERTV0001"
REAL = ["kws_dscnn_int8", "ic_resnet8_int8", "ad_autoencoder_int8", "micro_speech_int8", "hello_world_int8"]


def sources(quick: bool):
    """(name, tflite bytes) of the single-op / fused models, from the sweeps' own builders."""
    import test_c_conv as cc
    import test_c_kernels as ck
    import test_ops_elementwise as ew
    import test_ops_nonlinear as nl
    import test_ops_pool_shape as ps
    import test_ops_slice_split as sl
    import test_passes as tp
    out = []
    for i, (xs, oc, k, s, d, pad, act) in enumerate(cc.CONV_CASES):
        out.append((f"conv_2d_{i}", lambda a=(xs, oc, k, s, d, pad, act), i=i: cc.conv_model(*a, seed=i)))
    for i, (xs, k, s, d, pad, dm) in enumerate(cc.DW_CASES):
        out.append((f"depthwise_{i}", lambda a=(xs, k, s, d, pad, dm), i=i: cc.conv_model(
            a[0], 0, a[1], a[2], a[3], a[4], "RELU6", depthwise=True, dm=a[5], seed=i)))
    import test_c_depthwise1 as d1  # one input channel: each depth-multiplier / geometry family once
    for i in (0, 3, 4, 6, 7, 8, 10, 14, 16, 20):
        xs, k, s, d, pad, dm, act, zp = d1.CASES[i]
        out.append((f"depthwise1_{i}", lambda a=(xs, k, s, d, pad, act, zp, dm), i=i: cc.conv_model(
            a[0], 0, a[1], a[2], a[3], a[4], a[5], in_zp=a[6], depthwise=True, dm=a[7], seed=100 + i)))
    for i, (n, k, b, act) in enumerate([(1, 1, 1, "NONE"), (3, 7, 2, "RELU"), (10, 16, 1, "NONE"),
                                        (33, 70, 5, "RELU6"), (64, 128, 1, "NONE")]):
        out.append((f"fc_{i}", lambda a=(n, k, b, act), i=i: ck.fc_model(*a, seed=i)))
    import test_c_fc_batch1 as fb  # batch 1 (the NEON / dot-product blocks of narrow and odd layers)
    for i, (n, k) in enumerate(fb.SHAPES):
        if n * k <= 20000 and not quick:
            out.append((f"fc1_{i}", lambda i=i, n=n, k=k: fb.fc1(n, k, *fb.case(i, n, k), seed=i)))
    for i, (kind, shape, pt, st) in enumerate([("ds", (1, 8, 8, 16), 1, 1), ("ds", (2, 6, 5, 8), 2, 1),
                                               ("ds", (1, 9, 9, 8), 1, 2), ("conv_add", (1, 6, 6, 8), 0, 1),
                                               ("conv_add", (2, 5, 4, 3), 0, 1), ("fc_add", (1, 24), 0, 1),
                                               ("fc_add", (3, 17), 0, 1)]):
        out.append((f"{kind}_{i}", lambda a=(kind, shape, pt, st): cc._chain(a[0], a[1], pad_top=a[2], stride=a[3])))
    for kw in ({}, {"stride": 2}, {"mult": 2, "oc": 8}, {"padding": "VALID"}):
        out.append(("ds_model_" + "_".join(f"{k}{v}" for k, v in kw.items()), lambda kw=kw: tp.ds_model(**kw)))
    for cf in (True, False):
        out.append((f"residual_{cf}", lambda cf=cf: tp.residual_model(cf, "RELU")))
        out.append((f"fc_residual_{cf}", lambda cf=cf: tp.fc_residual_model(cf)))
    # the ops the C set may implement next: they yield vectors once they are in OPS
    for op in ("ADD", "SUB", "MUL"):
        for i, shapes in enumerate(ew.BROADCASTS[:4]):
            out.append((f"{op.lower()}_{i}", lambda op=op, s=shapes: ew.binary_model(
                op, *s, (0.05, 3), (0.07, -20), (0.03, -9) if op == "MUL" else (0.11, 4))))
    for op in ("RELU", "RELU6"):
        out.append((op.lower(), lambda op=op: ew.unary_model(op, (2, 3, 4, 5), (0.05, 3), (0.04, -5))))
    for kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for i, case in enumerate(ps.POOL_CASES[:4]):
            out.append((f"{kind.lower()}_{i}", lambda k=kind, c=case: ps.pool_model(k, *c)))
    for i, (shape, pads) in enumerate(ps.PAD_CASES[:4]):
        out.append((f"pad_{i}", lambda s=shape, p=pads: ps.pad_model(s, p, 7)))
    for i, axis in enumerate((1, 3)):
        out.append((f"concatenation_{i}", lambda a=axis: ps.concat_model(a, 3)))
    for i, case in enumerate(ps.MEAN_CASES[:3]):
        out.append((f"mean_{i}", lambda c=case: ps.mean_model(c, "narrower")))
    for i, (shape, scale, zp, beta) in enumerate(nl.SOFTMAX_CASES[:3]):
        out.append((f"softmax_{i}", lambda a=(shape, (scale, zp), beta): nl.softmax_model(*a)))
    for op, oq in (("LOGISTIC", (1 / 256, -128)), ("TANH", (1 / 128, 0))):
        out.append((op.lower(), lambda op=op, oq=oq: nl.unary_model(op, (2, 4, 4, 3), (0.1, 0), oq)))
    out.append(("leaky_relu", lambda: ew.unary_model("LEAKY_RELU", (4, 64), (0.05, 3), (0.02, -128),
                                                      options="LeakyReluOptions", Alpha=-0.3)))
    out.append(("hard_swish", lambda: ew.unary_model("HARD_SWISH", (4, 64), (0.1, 20), (0.004, 3))))
    out.append(("quantize", lambda: ew.unary_model("QUANTIZE", (4, 64), (0.05, 3), (0.02, -128))))
    out.append(("dequantize", lambda: ew.unary_model("DEQUANTIZE", (4, 64), (1 / 3, -7), (), tout="float32")))
    out.append(("lookup", tp.chain_model))
    out.append(("reshape", _reshape_model))
    for i, (dt, args) in enumerate([("int8", ((2, 5, 4, 3), [0, 4, 1, 0], [2, 0, 4, 3], [1, -2, 2, 1])),
                                    ("int16", ((1, 11, 1, 64), [0, 1, 0, 0], [1, 11, 1, 64], [1, 1, 1, 1]))]):
        out.append((f"strided_slice_{i}", lambda a=args, dt=dt: sl.slice_model(*a, dt)))
    out.append(("split_0", lambda: sl.split_model((2, 3, 4, 6), 1, 3)))
    out.append(("split_v_0", lambda: sl.split_model((1, 15, 1, 64), -1, None, "int16", sizes=[10, -1, 20])))
    out.append(("squeeze", _squeeze_model))
    if quick:  # one model per C op kind
        seen, keep = set(), []
        for name, fn in out:
            kind = name.rsplit("_", 1)[0]
            if kind not in seen:
                seen.add(kind)
                keep.append((name, fn))
        out = keep
    return out


def _reshape_model():
    from edge_rt.testing.tflite_builder import ModelBuilder
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 5, 3), "int8", scale=0.05, zero_point=-3)
    y = b.tensor("y", (2, 3, 10), "int8", scale=0.05, zero_point=-3)
    b.op("RESHAPE", [x, b.const("shape", np.array([2, 3, 10], np.int32))], [y])
    return b.build([x], [y])


def _squeeze_model():
    from edge_rt.testing.tflite_builder import ModelBuilder
    b = ModelBuilder()
    x = b.tensor("x", (1, 3, 1, 4, 1), "int8", scale=0.05, zero_point=-3)
    y = b.tensor("y", (3, 4), "int8", scale=0.05, zero_point=-3)
    b.op("SQUEEZE", [x], [y], "SqueezeOptions", SqueezeDims=[])
    return b.build([x], [y])


# passes that would remove the very op a single-op model is about (RESHAPE/SQUEEZE aliased,
# edge QUANTIZE/DEQUANTIZE folded into set_input/get_output)
KEEP = ("eliminate_reshape", "fold_io_quantize", "remove_identity_requantize")


def _arena_tensors(m, ids):
    return [t for t in ids if t >= 0 and m.tensors[t].kind == F.KIND_ARENA and m.tensors[t].nbytes]


def _span(m, arena, tid):
    t = m.tensors[tid]
    return (t.offset, bytes(arena[t.offset:t.offset + t.nbytes]))


def _ref_capture(c_bin, xs):
    """{tensor id: bytes} for every arena tensor as the pure-Python (specification) kernels
    produced it running the same file op by op, and the model's outputs."""
    it = Interpreter(c_bin, kernels="ref")
    m = it.model
    arena = memoryview(it._arena)
    for i, x in enumerate(xs):
        it.set_input(i, x)
    # tensors no op writes (an eliminated RESHAPE's output aliases its input's bytes) are
    # recorded with the input or op output they lie in
    made = {t for op in m.ops for t in op.outputs} | set(m.inputs)
    loose = [t for t in range(len(m.tensors)) if t not in made and m.tensors[t].kind == F.KIND_ARENA]
    vals = {}

    def record(ids):
        for o in _arena_tensors(m, ids):
            a, b = m.tensors[o].offset, m.tensors[o].offset + m.tensors[o].nbytes
            for t in [o] + [t for t in loose if a <= m.tensors[t].offset and
                            m.tensors[t].offset + m.tensors[t].nbytes <= b]:
                vals[t] = _span(m, arena, t)[1]
    record(m.inputs)
    for op, step in zip(m.ops, it.op_steps()):
        step()
        record(op.outputs)
    return vals, [it.get_output(i) for i in range(len(m.outputs))]


def vectors(name, data, trials, seed=0):
    """(file bytes, {opcode: cases}) of one model, or None when no op of it runs on C."""
    c_bin = pack(data, name + ".tflite", kernels="c", check_budget=False, disable=KEEP).binary
    it = Interpreter(c_bin, kernels=None)
    m = it.model
    # each C op and its record spec, as the binders make it (equal to the file's CPROG records:
    # tests/test_c_prog.py; the Interpreter may have taken those instead)
    from edge_rt.kernels import c as c_set
    c_ops = [(k, (op, c_set.KERNELS[op.opcode](op, m, None, None)))
             for k, (op, s) in enumerate(zip(m.ops, it.op_kernel_sets)) if s == "c"]
    if not c_ops:
        return None
    ref = TFLM(data)
    rng = np.random.default_rng(seed)
    details = it.input_details()
    trial_inputs = [tuple(random_input(d["shape"], d["dtype"], rng) for d in details) for _ in range(trials)]
    arena = memoryview(it._arena)
    records = [spec for _, (_, spec) in c_ops]
    cases, count = [], {}
    whole = len(c_ops) == len(m.ops)
    for t, xs in enumerate(trial_inputs):
        want = ref(*xs)
        if whole:  # the model's input as set_input stores it; TFLite Micro's output, raw bytes
            for i, x in enumerate(xs):
                it.set_input(i, x)
            ins = [_span(m, arena, tid) for tid in _arena_tensors(m, m.inputs)]
            chk = []
            for tid, w in zip(m.outputs, want):
                tt = m.tensors[tid]
                if tt.kind != F.KIND_ARENA or w.nbytes != tt.nbytes:  # raw bytes: float32 outputs too
                    raise SystemExit(f"{name}: output {tt.name} is converted at the edge; cannot compare raw")
                chk.append((tt.offset, np.ascontiguousarray(w).tobytes()))
            cases.append((f"{name}/trial{t}", 0, len(records), ins, chk))
            for _, (op, _) in c_ops:
                count[op.opcode] = count.get(op.opcode, 0) + 1
            continue
        vals, outs = _ref_capture(c_bin, xs)
        for k, (g, w) in enumerate(zip(outs, want)):
            if not np.array_equal(g, w):
                raise SystemExit(f"{name}: the ref run differs from TFLite Micro at output {k} (trial {t})")
        for j, (_, (op, _)) in enumerate(c_ops):
            ins = [(m.tensors[tid].offset, vals[tid]) for tid in _arena_tensors(m, op.inputs)]
            chk = [(m.tensors[tid].offset, vals[tid]) for tid in _arena_tensors(m, op.outputs)]
            cases.append((f"{name}/op{op.index}:{op.name}/trial{t}", j, 1, ins, chk))
            count[op.opcode] = count.get(op.opcode, 0) + 1
    return encode(name, bytes(m.consts), m.arena_bytes, records, cases), count


def encode(name, consts, arena_bytes, records, cases):
    """The .ertv layout driver.c reads (little-endian throughout)."""
    def s(b):
        return struct.pack("<I", len(b)) + b
    out = [MAGIC, s(name.encode()), struct.pack("<Q", len(consts)), consts, struct.pack("<QI", arena_bytes, len(records))]
    for opcode, prm, opd in records:
        out.append(struct.pack("<ii", opcode, len(prm)) + struct.pack(f"<{len(prm)}i", *prm))
        out.append(struct.pack("<i", len(opd)) + b"".join(struct.pack("<iqq", r, o, n) for r, o, n in opd))
    out.append(struct.pack("<I", len(cases)))
    for cname, first, n, ins, chk in cases:
        out.append(s(cname.encode()) + struct.pack("<II", first, n))
        for spans in (ins, chk):
            out.append(struct.pack("<I", len(spans)))
            out += [struct.pack("<QQ", off, len(b)) + b for off, b in spans]
    return b"".join(out)


def main(argv):
    quick = "--quick" in argv
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1:
        raise SystemExit(__doc__.rsplit("\n", 1)[-1])
    out_dir = args[0]
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        if f.endswith(".ertv"):
            os.remove(os.path.join(out_dir, f))
    total, models = {}, 0
    todo = [(n, fn, 2) for n, fn in sources(quick)]
    if not quick:
        for n in REAL:
            path = os.path.join(shared_models.SHARED_MODELS, n + ".tflite")
            if os.path.exists(path):
                todo.append((n, lambda p=path: open(p, "rb").read(), 1))
            else:
                print(f"make_vectors: {path} not present, skipped", file=sys.stderr)
    for name, fn, trials in todo:
        got = vectors(name, fn(), trials)
        if got is None:
            continue
        blob, count = got
        with open(os.path.join(out_dir, name + ".ertv"), "wb") as f:
            f.write(blob)
        models += 1
        for k, v in count.items():
            total[k] = total.get(k, 0) + v
    missing = [F.OP_NAMES.get(c, str(c)) for c in OPS if c not in total]
    if missing:
        raise SystemExit("make_vectors: no vectors for C op(s) " + ", ".join(missing) +
                         ": add a model using them to sources() in tools/xarch/make_vectors.py")
    print("make_vectors: %d models, %d op vectors (%s) -> %s" % (
        models, sum(total.values()), ", ".join(f"{F.OP_NAMES.get(c, c)} {n}" for c, n in sorted(total.items())),
        out_dir))


if __name__ == "__main__":
    main(sys.argv[1:])
