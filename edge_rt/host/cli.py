"""The `edge-rt` command: pack, run, inspect, boards (and more as they land)."""
from __future__ import annotations

import argparse
import binascii
import json
import os
import sys
import time

from .. import format as F
from ..errors import EdgeRTError, ModelFormatError, UnsupportedModelError
from .cli_files import (_os_problem, _read, check_output_name, model_file, open_interpreter,
                        positive_int, save_outputs, write_file)

EXAMPLES = """examples:
  edge-rt pack models/kws_dscnn_int8.tflite -o kws.ert          # default board
  edge-rt pack model.tflite -o model.ert --board pico           # fails if it does not fit
  edge-rt run kws.ert --repeat 100                              # random input, median latency
  edge-rt run kws.ert --input x.npy --output y.npy
  edge-rt inspect kws.ert --json
"""


def _fail(msg: str) -> int:
    for line in str(msg).splitlines() or [""]:
        print(f"edge-rt: error: {line}", file=sys.stderr)
    return 1


# -- pack -------------------------------------------------------------------------------
def cmd_pack(a) -> int:
    from ..compiler.pack import pack
    from ..compiler.passes import AFTER_PREPARE, PIPELINE
    if a.list_passes:
        for p in PIPELINE + AFTER_PREPARE:
            doc = (p.__doc__ or "").strip().splitlines()
            print(f"{p.__name__:28s} {doc[0] if doc else ''}" + (" (after prepare)" if p in AFTER_PREPARE else ""))
        if not PIPELINE:
            print("(no passes registered)")
        return 0
    if not a.model:
        return _fail("pack: a .tflite model is required")
    data = _read(a.model)
    out = a.output or os.path.splitext(os.path.basename(a.model))[0] + ".ert"
    r = pack(data, a.model, board=a.board, kernels=a.kernels, disable=tuple(a.disable or ()),
             check_budget=not a.no_budget_check)
    write_file(out, lambda f: f.write(r.binary))
    src_ops = r.graph.meta.get("source_ops", len(r.graph.ops))
    print(f"packed {a.model} -> {out} for board {r.board.name} ({r.board.title}), "
          f"kernels {r.kernel_set}")
    print(f"  ops:            {len(r.graph.ops)} (source model: {src_ops}); kernel sets: "
          f"{kernel_summary([op.kernel_set for op in r.graph.ops])}")
    print(f"  constant bytes: {r.constant_bytes:,}")
    budget = (f"L2 target {r.board.arena_budget:,}, RAM limit {r.board.ram_bytes:,}" if r.board.ram_bytes
              else f"budget {r.board.arena_budget:,}")
    print(f"  arena bytes:    {r.plan.arena_bytes:,} (lower bound {r.plan.lower_bound:,}; "
          f"strategy {r.plan.strategy}; {budget})")
    if r.kernel_set in ("ref", "viper"):
        wbuf = r.weight_buffer_bytes
        print(f"  weight buffer:  {wbuf:,} B (MicroPython streams constants from the file through it; "
              f"arena + buffer {r.plan.arena_bytes + wbuf:,} of {r.board.arena_budget:,})")
    print(f"  file bytes:     {len(r.binary):,} (budget {r.board.flash_budget:,})")
    for name, note in r.pass_report:
        if note:
            print(f"  pass {name}: {note}")
    for w in r.warnings:
        print(f"edge-rt: warning: {w}", file=sys.stderr)
    return 0


# -- run --------------------------------------------------------------------------------
def _fmt_array(x) -> str:
    import numpy as np
    with np.printoptions(threshold=64, edgeitems=8, linewidth=100):
        return np.array2string(x)


def cmd_run(a) -> int:
    import numpy as np

    from .inputs import load_npy, random_inputs
    it = open_interpreter(a.model, kernels=a.kernels, threads=a.threads)
    details = it.input_details()
    inputs = a.input or []
    if inputs and len(inputs) != len(details):
        return _fail(f"{a.model} has {len(details)} inputs, {len(inputs)} --input given")
    if a.output:  # refuse a bad name before running
        check_output_name(a.output, len(it.output_details()))
    if inputs:
        xs = [load_npy(f, d["shape"], d["dtype"], f"input {i} ({d['name']}) of {a.model}")
              for i, (f, d) in enumerate(zip(inputs, details))]
    else:
        xs = random_inputs([(d["shape"], d["dtype"]) for d in details], a.seed)
        for i, d in enumerate(details):
            print(f"input {i} ({d['name']}): random {np.dtype(d['dtype']).name} {tuple(d['shape'])} "
                  f"(seed {a.seed})")
    if a.profile:
        from .cli_bench import run_profile
        run_profile(it, a, xs)
        return 0
    times = []
    for _ in range(a.repeat):
        # the plan reuses an input's bytes once it is consumed: inputs are set per invoke
        for i, x in enumerate(xs):
            it.set_input(i, x)
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
    outs = [it.get_output(i) for i in range(len(it.output_details()))]
    for i, (d, y) in enumerate(zip(it.output_details(), outs)):
        print(f"output {i} ({d['name']}) {y.dtype.name} {tuple(y.shape)}:")
        print(_fmt_array(y))
    if a.output:
        save_outputs(a.output, outs)
        print(f"wrote {a.output}")
    times.sort()
    med = times[len(times) // 2]
    print(f"latency: median {med * 1e6:,.1f} us over {len(times)} invoke(s) "
          f"(kernels {it.kernel_set}, arena {it.arena_bytes:,} B)")
    print(f"kernel sets: {kernel_summary(it.op_kernel_sets, it.c_simd)}")
    return 0


def kernel_summary(op_sets, c_simd=None) -> str:
    """'c: 10 ops (SIMD avx512vnni), np: 2 ops (SOFTMAX...)': which set runs the ops."""
    parts = []
    for s in sorted(set(op_sets), key=op_sets.index):
        n = op_sets.count(s)
        parts.append(f"{s}: {n} op{'s' if n != 1 else ''}" + (f" (SIMD {c_simd})" if s == "c" and c_simd else ""))
    return ", ".join(parts)


# -- inspect ----------------------------------------------------------------------------
def describe(path: str) -> dict:
    from ..reader import parse
    data = _read(model_file(path))
    try:
        m = parse(data)
    except ModelFormatError as e:
        raise ModelFormatError(f"{path}: {e}") from None

    def tdesc(tid):
        t = m.tensors[tid]
        return {"id": tid, "name": t.name, "shape": list(t.shape), "dtype": F.DTYPE_NAMES[t.dtype],
                "scale": t.scale, "zero_point": t.zero_point, "bytes": t.nbytes,
                "kind": "const" if t.kind == F.KIND_CONST else "arena", "offset": t.offset}
    return {
        # crc32: the header's field, over bytes [16, end); file_crc32: over the whole file, what
        # `edge-rt deploy` sends and the agent checks
        "format_version": m.version, "total_bytes": m.total_length, "crc32": f"0x{m.crc32:08x}",
        "file_crc32": f"0x{binascii.crc32(data) & 0xFFFFFFFF:08x}",
        "meta": m.meta, "arena_bytes": m.arena_bytes, "lower_bound": m.lower_bound,
        "constant_bytes": m.constant_bytes, "state_bytes": m.state_bytes,
        "state": [{"name": n, "tensor": t, "offset": o, "bytes": b}
                  for n, t, o, b in (m.meta.get("state") or {}).get("variables", [])],
        "inputs": [tdesc(t) for t in m.inputs], "outputs": [tdesc(t) for t in m.outputs],
        "tensors": [tdesc(i) for i in range(len(m.tensors))],
        "ops": [{"index": op.index, "type": op.name, "inputs": list(op.inputs), "outputs": list(op.outputs),
                 "params": list(op.params), "scratch_offset": op.scratch_offset,
                 "scratch_bytes": op.scratch_bytes} for op in m.ops],
        "plan": [{"tensor": e[0], "offset": e[1], "bytes": e[2], "first_op": e[3], "last_op": e[4]}
                 for e in m.plan],
        "c_records": _c_records(data, m),
    }


def _c_records(data: bytes, m) -> dict | None:
    """The CPROG section (C ops' records bound at pack time): how many ops it covers and whether this
    runtime's C set takes them (None: not usable here, no C extension); None without the section."""
    if m.cprog is None:
        return None
    from ..compiler.cprog import records_of
    try:
        from ..kernels import c as ck
        used = ck.records(m) is not None
    except ImportError:
        used = None
    return {"ops": len(records_of(data)), "used": used}


def cmd_inspect(a) -> int:
    d = describe(a.model)
    if a.json:
        print(json.dumps(d, indent=2))
        return 0
    if a.memory or a.memory_png:
        from ..compiler.memviz import render_ascii, render_png
        if a.memory:
            print(render_ascii(d))
        if a.memory_png:
            render_png(d, a.memory_png)
            print(f"wrote {a.memory_png}")
        return 0
    meta = d["meta"]
    print(f"{a.model}: edge_rt format v{d['format_version']}, {d['total_bytes']:,} bytes, header CRC32 "
          f"{d['crc32']} (bytes 16..end), file CRC32 {d['file_crc32']} (whole file, as deploy checks)")
    print(f"  source {meta.get('source_name')} sha256 {meta.get('source_sha256', '')[:16]}..., "
          f"tool {meta.get('tool_version')}, board {meta.get('board')}, kernels {meta.get('kernel_set')}")
    print(f"  arena {d['arena_bytes']:,} B (lower bound {d['lower_bound']:,} B), constants "
          f"{d['constant_bytes']:,} B, {len(d['tensors'])} tensors, {len(d['ops'])} ops")
    if d["state_bytes"]:  # streaming models: persistent, kept across invokes, never reused
        print(f"  state region [0, {d['state_bytes']:,}) B persistent + scratch {d['arena_bytes'] - d['state_bytes']:,} B; "
              f"{len(d['state'])} variables (reset_state() restores them):")
        for v in d["state"]:
            print(f"    [{v['offset']:6,}, {v['offset'] + v['bytes']:6,}) {v['name']} "
                  f"{tuple(d['tensors'][v['tensor']]['shape'])}")
    for io in ("inputs", "outputs"):
        for t in d[io]:
            print(f"  {io[:-1]:6s} {t['name']}: {t['dtype']} {tuple(t['shape'])} "
                  f"scale {t['scale']:.6g} zero_point {t['zero_point']}")
    sets = meta.get("op_kernels") or [meta.get("kernel_set", "np")] * len(d["ops"])
    if a.kernels:
        from ..interpreter import Interpreter
        sets = Interpreter(a.model, kernels=a.kernels).op_kernel_sets
    print(f"  kernel sets: {kernel_summary(sets)}")
    rec = d["c_records"]
    if rec:
        how = {True: "used at load", False: "not used here (other binders or tables changed: bound at load)",
               None: "the C extension is not built here"}[rec["used"]]
        print(f"  C records bound at pack time (CPROG): {rec['ops']} op{'s' if rec['ops'] != 1 else ''}, {how}")
    print("  ops:")
    for op, ks in zip(d["ops"], sets):
        outs = [d["tensors"][t] for t in op["outputs"]]
        shp = ", ".join(str(tuple(t["shape"])) for t in outs)
        sc = f" scratch {op['scratch_bytes']:,} B" if op["scratch_bytes"] else ""
        print(f"    {op['index']:3d} {op['type']:20s} [{ks:3s}] -> {shp}{sc}")
    return 0


# -- boards -----------------------------------------------------------------------------
def cmd_boards(a) -> int:
    from ..compiler.boards import DEFAULT_BOARD, board_names, load_board
    print(f"{'board':12s} {'arena budget':>14s} {'RAM limit':>16s} {'flash budget':>14s} kernels  name")
    for n in board_names():
        b = load_board(n)
        star = " (default)" if n == DEFAULT_BOARD else ""
        ram = f"{b.ram_bytes:>14,} B" if b.ram_bytes else f"{'-':>16s}"
        print(f"{n:12s} {b.arena_budget:>12,} B {ram} {b.flash_budget:>12,} B {b.kernels:8s} {b.title}{star}")
    print("arena budget: on-chip RAM on a microcontroller (a hard limit); on a Linux board the L2 cache, "
          "a target (exceeding it warns) below the RAM limit")
    return 0


# -- ops --------------------------------------------------------------------------------
def cmd_ops(a) -> int:
    from ..compiler import op_table
    if a.json:
        print(json.dumps(op_table.rows(), indent=1))
    else:
        print(op_table.markdown() if a.markdown else op_table.text())
    return 0


def add_ops_command(sub) -> None:
    s = sub.add_parser("ops", help="list the supported ops, their dtypes and kernel sets",
                       description="List every op edge_rt packs, the dtypes it takes and the kernel "
                       "sets that implement it (read from the registries).")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--markdown", action="store_true", help="print the README's markdown table")
    s.set_defaults(fn=cmd_ops)


# -- bundle -----------------------------------------------------------------------------
def cmd_bundle(a) -> int:
    from ..compiler.bundle import write_bundle
    rep = write_bundle(a.model, a.board, a.output, mpy=a.mpy)
    print(rep.summary())
    return 0


# -- quantize ---------------------------------------------------------------------------
def cmd_quantize(a) -> int:
    from ..compiler.quantize.command import run
    return run(a)


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__
    p = argparse.ArgumentParser(prog="edge-rt", description="Pack int8 .tflite models into a flat "
                                "binary with a static memory plan and run them bit-exact.",
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"edge-rt {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    s = sub.add_parser("pack", help="compile a .tflite model into an .ert binary",
                       description="Import an int8 .tflite model, run the graph passes, plan the arena "
                       "and write a flat .ert binary. Fails (exit 1) listing every unsupported op, or "
                       "when the model does not fit the board.")
    s.add_argument("model", nargs="?", metavar="IN.tflite")
    s.add_argument("-o", "--output", metavar="OUT.ert", help="output path (default: IN's base name with "
                   ".ert, in the current directory)")
    s.add_argument("--board", help="target board (see `edge-rt boards`; default rpi4)")
    s.add_argument("--kernels", choices=["c", "np", "ref", "viper"], help="kernel set to plan scratch for "
                   "(default: the board's; c falls back to np per op, and to np for the whole file when "
                   "the C kernels are not built here)")
    s.add_argument("--disable", action="append", metavar="PASS", help="switch a pass off (repeatable)")
    s.add_argument("--list-passes", action="store_true", help="list the graph passes and exit")
    s.add_argument("--no-budget-check", action="store_true", help="write the file even if it does "
                   "not fit the board (with a warning saying by how much)")
    s.set_defaults(fn=cmd_pack)

    s = sub.add_parser("run", help="run a packed model and time it",
                       description="Load an .ert model, feed inputs (random when none given), invoke, "
                       "print outputs and the median latency.")
    s.add_argument("model", metavar="MODEL.ert")
    s.add_argument("--input", action="append", metavar="x.npy", help="input array (repeat per input)")
    s.add_argument("--output", metavar="y.npy", help="save the output(s): NAME.npy, or NAME.npz for several")
    s.add_argument("--repeat", type=positive_int, default=1, metavar="N",
                   help="invocations to time (default 1)")
    s.add_argument("--kernels", choices=["c", "np", "ref"], help="kernel set (default: the sets the file "
                   "was packed for)")
    s.add_argument("--seed", type=int, default=0, help="seed of the random input (default 0)")
    s.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="BLAS threads for the numpy kernels (default 1)")
    from .cli_bench import add_commands as add_bench, add_profile_args
    add_profile_args(s)
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("inspect", help="show header, tensors, ops and memory plan of an .ert",
                       description="Print what an .ert file holds. --json gives a machine-readable "
                       "description (format_version, ops, arena_bytes, constant_bytes, inputs, outputs...).")
    s.add_argument("model", metavar="MODEL.ert")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--memory", action="store_true", help="draw the memory plan as an ASCII timeline")
    s.add_argument("--memory-png", metavar="FILE", help="draw the memory plan into a PNG (needs matplotlib)")
    s.add_argument("--kernels", choices=["c", "np", "ref"], help="show the set each op would run on with "
                   "this kernel set (default: as packed)")
    s.set_defaults(fn=cmd_inspect)

    s = sub.add_parser("boards", help="list the known boards and their budgets",
                       description="List boards/*.toml with their arena and flash budgets.")
    s.set_defaults(fn=cmd_boards)

    s = sub.add_parser("bundle", help="write the files to copy onto a MicroPython board",
                       description="Write exactly the files a MicroPython board needs for MODEL.ert: "
                       "the device modules (optionally compiled to .mpy with mpy-cross), the model and an "
                       "example main.py; checks them against the board's flash and RAM budgets.")
    s.add_argument("model", metavar="MODEL.ert")
    s.add_argument("--board", default="pico", help="target board (default pico)")
    s.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    s.add_argument("--mpy", action="store_true", help="compile modules to .mpy (needs mpy-cross)")
    s.set_defaults(fn=cmd_bundle)

    s = sub.add_parser("quantize", help="float32 .tflite/.onnx -> int8 (or int16x8) .tflite (no TensorFlow)",
                       description="Fold BatchNorm/activations/pads, calibrate on real samples and write a "
                       "full-integer .tflite (TFLite int8 spec, or its 16x8 spec with --activations int16) that "
                       "TFLite Micro, LiteRT and edge-rt pack run.")
    from ..compiler.quantize.command import add_arguments as add_quantize
    add_quantize(s)
    s.set_defaults(fn=cmd_quantize)
    add_ops_command(sub)
    add_bench(sub)
    from .cli_remote import add_commands as add_remote
    add_remote(sub)
    return p


def _stdout_gone() -> int:
    """stdout's reader went away (`edge-rt run M.ert | head -3`): stop quietly, as Unix tools
    do, and point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the broken pipe


def main(argv=None) -> int:
    """Every failure a user can cause ends in one line on stderr and a non-zero exit: errors
    edge_rt raises on purpose (EdgeRTError), and any file-system error a command did not word
    itself (OSError: 'PATH: problem')."""
    p = build_parser()
    a = p.parse_args(argv)
    if not getattr(a, "fn", None):
        p.print_help()
        return 2
    try:
        rc = a.fn(a)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return rc
    except UnsupportedModelError as e:
        return _fail(str(e))
    except EdgeRTError as e:
        return _fail(str(e))
    except BrokenPipeError:
        return _stdout_gone()
    except OSError as e:
        return _fail(_os_problem(e))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
