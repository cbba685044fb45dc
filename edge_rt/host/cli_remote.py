"""`edge-rt agent | deploy | remote run | remote bench | profile`: boards over a serial link.
add_commands(subparsers) registers them on the edge-rt argparse subparsers object."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from ..errors import EdgeRTError


from .cli_files import _read, check_output_name, model_file, positive_int, save_outputs, write_file


def _port_args(s, required=True):
    s.add_argument("--port", required=required, metavar="PORT",
                   help="serial device (/dev/ttyACM0, COM3) or pyserial URL (socket://host:port, loop://)")
    s.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    s.add_argument("--timeout", type=float, default=2.0, metavar="S",
                   help="seconds to wait for a reply (default 2; inference commands wait longer)")


def _power_args(s):
    g = s.add_argument_group("power and energy")
    g.add_argument("--power", metavar="SOURCE", help="measure power during the run: 'hwmon' "
                   "(Linux INA2xx sensor) or 'serial:PORT[@BAUD]' (meter streaming readings)")
    g.add_argument("--hwmon-root", metavar="DIR", help="hwmon root (default /sys/class/hwmon)")
    g.add_argument("--hwmon-device", metavar="NAME", help="hwmon device name (e.g. ina219) or hwmonN")
    g.add_argument("--idle", type=float, default=0.5, metavar="S", help="idle baseline seconds (default 0.5)")
    g.add_argument("--power-png", metavar="FILE", help="plot the power trace with the inference window")
    g.add_argument("--board", help="board whose [energy] coefficients the estimate uses "
                   "(default: the board the model was packed for)")


def _link(a):
    from .link import Device, Link
    return Device(Link(a.port, a.baud, timeout=a.timeout))


def _load_input_bytes(path, desc) -> bytes:
    from .inputs import load_npy, to_le_bytes
    if len(desc.inputs) != 1:
        raise EdgeRTError(f"model has {len(desc.inputs)} inputs; --input supports single-input models")
    t = desc.inputs[0]
    return to_le_bytes([load_npy(path, t.shape, t.dtype, f"the input of {desc.name}")])


# -- agent ------------------------------------------------------------------------------
def cmd_agent(a) -> int:
    from ..agent import Agent, serve, stdio_agent
    if a.model:
        model_file(a.model)
    store = a.store or (os.path.dirname(os.path.abspath(a.model)) if a.model else os.getcwd())
    kw = dict(vendor=a.vendor, mlperf_model=a.mlperf_model, kernels=a.kernels)
    if a.stdio:
        stdio_agent(a.model, store, **kw)
        return 0
    from .link import open_port
    ser = open_port(a.port, a.baud, timeout=0.2)
    agent = Agent(ser.write, a.model, store, **kw)
    print(f"edge-rt agent: serving {agent.model_name or 'no model'} on {a.port} at {a.baud} baud "
          f"(store {store}); Ctrl-C stops", file=sys.stderr)
    agent.banner()
    import serial

    def read():
        try:
            return ser.read(ser.in_waiting or 1)
        except (serial.SerialException, OSError):
            return None
    try:
        serve(agent, read)
    finally:
        ser.close()
    raise EdgeRTError(f"port {a.port} closed")


# -- deploy -----------------------------------------------------------------------------
def cmd_deploy(a) -> int:
    from ..reader import parse
    data = _read(a.model)
    try:
        parse(data)
    except EdgeRTError as e:
        raise EdgeRTError(f"{a.model} is not a valid .ert model: {e}") from None
    name = a.name or os.path.splitext(os.path.basename(a.model))[0]
    dev = _link(a)
    with dev.link:
        dev.name()
        t0 = time.perf_counter()
        last = [0.0]

        def progress(done, total):
            if sys.stderr.isatty() and time.perf_counter() - last[0] > 0.2:
                last[0] = time.perf_counter()
                print(f"\r  {done:,}/{total:,} B", end="", file=sys.stderr)
        crc = dev.upload(data, name, chunk=a.chunk, progress=progress)
        dt = time.perf_counter() - t0
        if sys.stderr.isatty():
            print(file=sys.stderr)
        info = dev.info()
    print(f"deployed {a.model} -> {name}.ert on {a.port}: {len(data):,} B in {dt:.2f} s "
          f"({len(data) / max(dt, 1e-9) / 1024:,.1f} KiB/s), file CRC32 0x{crc:08x} (whole file), arena {info.arena_bytes:,} B, "
          f"{info.n_ops} ops; now selected")
    if dev.link.garbled:
        print(f"  note: {dev.link.garbled} garbled replies were re-requested")
    return 0


# -- remote run / bench -----------------------------------------------------------------
def cmd_remote_run(a) -> int:
    import numpy as np
    from .profile import random_input_bytes
    dev = _link(a)
    with dev.link:
        desc = dev.info()
        if a.output:  # refuse a bad name before running
            check_output_name(a.output, len(desc.outputs))
        data = _load_input_bytes(a.input, desc) if a.input else random_input_bytes(desc, a.seed)
        if not a.input:
            print(f"input: random {desc.inputs[0].dtype} {desc.inputs[0].shape} (seed {a.seed})")
        dev.load_input(data)
        r = dev.infer(max(1, a.repeat), 0)
        outs = dev.outputs(desc)
    for t, y in zip(desc.outputs, outs):
        print(f"output {t.index} ({t.name}) {y.dtype.name} {tuple(y.shape)}:")
        with np.printoptions(threshold=64, edgeitems=8, linewidth=100):
            print(np.array2string(y))
    print(f"m-results (dequantized): {r.results[:16]}{' ...' if len(r.results) > 16 else ''}")
    if a.output:
        save_outputs(a.output, outs)
        print(f"wrote {a.output}")
    print(f"latency: {r.elapsed_us / r.n:,.1f} us per inference over {r.n} (device clock, model {desc.name})")
    return 0


def cmd_remote_bench(a) -> int:
    from .profile import random_input_bytes
    dev = _link(a)
    src = _power_source(a)
    with dev.link:
        desc = dev.info()
        data = _load_input_bytes(a.input, desc) if a.input else random_input_bytes(desc, a.seed)
        n = a.iterations
        if n <= 0:   # calibrate: enough inferences for a window of --min-seconds
            dev.load_input(data)
            r = dev.infer(1, a.warmup)
            per = max(r.elapsed_us, 1) / 1e6
            n = max(1, int(a.min_seconds / per + 0.5))
        thr, lat, last = [], [], None
        for loop in range(a.loops):
            dev.load_input(data)
            r = dev.infer(n, a.warmup)
            if r.elapsed_us <= 0:
                raise EdgeRTError(f"loop {loop + 1}: device timestamps went backwards (tick counter wrapped?)")
            thr.append(n / (r.elapsed_us / 1e6))
            lat.append(r.elapsed_us / n)
            last = r
            print(f"loop {loop + 1}/{a.loops}: {n} inferences in {r.elapsed_us / 1e6:.3f} s: "
                  f"{thr[-1]:,.2f} inf/s, {lat[-1]:,.1f} us/inference")
        print(f"median over {a.loops} loops: {statistics.median(thr):,.2f} inf/s, "
              f"{statistics.median(lat):,.1f} us per inference (model {desc.name}, warm-up {a.warmup})")
        print(f"m-results: {last.results[:12]}{' ...' if len(last.results) > 12 else ''}")
        if src is not None:
            from .power import format_energy, measure, plot_trace

            def work():
                dev.load_input(data)
                r = dev.infer(n, 0)
                return r.t_start, r.t_end, r.n
            e = measure(src, work, a.idle)
            print(format_energy(e))
            if a.power_png:
                plot_trace(e["trace"], e["window"], a.power_png, e["idle_window"], f"{desc.name} on {a.port}")
                print(f"wrote {a.power_png}")
    if src is None:
        _print_estimate(a)
    return 0


def _power_source(a):
    if not a.power:
        return None
    from .power import open_source
    if a.power_png:
        from .profile import need_matplotlib
        need_matplotlib()
    return open_source(a.power, a.hwmon_root, a.hwmon_device)


def _print_estimate(a):
    from .power import estimate_energy, format_energy
    model = getattr(a, "model", None)
    if not model:
        print("energy: not measured (give --power hwmon|serial:PORT, or MODEL.ert for an estimate)")
        return
    from ..reader import parse
    print(format_energy(estimate_energy(parse(_read(model_file(model))), a.board)))


# -- profile ----------------------------------------------------------------------------
def cmd_profile(a) -> int:
    from . import profile as P
    if a.plot:
        P.need_matplotlib()
    if not a.model and not a.port:
        raise EdgeRTError("profile: give MODEL.ert (local) or --port PORT (remote)")
    src = _power_source(a)
    if a.port:
        dev = _link(a)
        with dev.link:
            desc = dev.info()
            data = _load_input_bytes(a.input, desc) if a.input else None
            r = P.remote_profile(dev, a.runs, a.warmup, data, op_runs=min(a.runs, 20))
            title = f"{desc.name} on {a.port}"
            e = None
            if src is not None:
                from .power import measure
                data = data or P.random_input_bytes(desc)
                n = max(a.runs, int(a.power_seconds / max(r["stats"]["p50"] * 1e-6, 1e-6)))

                def work():
                    dev.load_input(data)
                    x = dev.infer(n, 0)
                    return x.t_start, x.t_end, x.n
                e = measure(src, work, a.idle)
    else:
        inputs = None
        model_file(a.model)
        if a.input:
            from .inputs import load_npy
            inputs = [load_npy(a.input)]
        r = P.local_profile(a.model, a.runs, a.warmup, a.kernels, inputs)
        title = os.path.basename(a.model)
        e = None
        if src is not None:
            from .power import measure
            it = r["interpreter"]
            xs = r["inputs"]

            def work():  # the plan may reuse an input's bytes: set the inputs before every invoke
                count, t0 = 0, time.perf_counter()
                while count < a.runs or time.perf_counter() - t0 < a.power_seconds:
                    for i, x in enumerate(xs):
                        it.set_input(i, x)
                    it.invoke()
                    count += 1
                return t0, time.perf_counter(), count
            e = measure(src, work, a.idle)
    print(P.format_report(r))
    from .power import format_energy
    if e is not None:
        print(format_energy(e))
        if a.power_png:
            from .power import plot_trace
            plot_trace(e["trace"], e["window"], a.power_png, e["idle_window"], title)
            print(f"wrote {a.power_png}")
    else:
        _print_estimate(a)
    if a.plot:
        P.plot_latency(r["latency_us"], a.plot + "_latency.png", f"latency: {title}")
        P.plot_ops(r["ops"], a.plot + "_ops.png", f"time per op: {title}")
        print(f"wrote {a.plot}_latency.png and {a.plot}_ops.png")
    if a.json:
        import json
        out = {k: v for k, v in r.items() if k in ("where", "kernels", "stats", "ops", "latency_us")}
        if e is not None:
            out["energy"] = {k: v for k, v in e.items() if k not in ("trace",)}
        text = json.dumps(out, indent=1, default=str)
        write_file(a.json, lambda f: f.write(text.encode()))
        print(f"wrote {a.json}")
    return 0


def add_commands(sub) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    s = sub.add_parser("agent", help="serve a model to a host over a serial port or stdio (on the board)",
                       formatter_class=fmt, description="Run on the board: answer the MLPerf Tiny "
                       "benchmark serial protocol (name, profile, db, infer, results, timestamp) and the "
                       "ert-* extensions (upload, select, info, ops) for MODEL.ert. On MicroPython, put "
                       "`from edge_rt.agent import stdio_agent; stdio_agent('model.ert')` in main.py instead.")
    s.add_argument("model", nargs="?", metavar="MODEL.ert", help="model to serve (optional: upload one later)")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--port", metavar="PORT", help="serial device or pyserial URL to serve on")
    g.add_argument("--stdio", action="store_true", help="serve on stdin/stdout")
    s.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    s.add_argument("--store", metavar="DIR", help="where uploaded models are kept (default: MODEL's folder)")
    s.add_argument("--kernels", choices=["np", "ref"], help="kernel set (default: numpy if present)")
    s.add_argument("--vendor", default="edge_rt", help="name reported as m-name-dut-[NAME]")
    s.add_argument("--mlperf-model", metavar="ID", help="model id for `profile` (kws01, vww01, ic01, ad01); "
                   "default: guessed from the model's source name")
    s.set_defaults(fn=cmd_agent)

    s = sub.add_parser("deploy", help="upload a packed model to a board running the agent",
                       description="Send MODEL.ert in CRC32-checked chunks; the board stores it as NAME.ert "
                       "(via a temporary file: a broken or corrupt transfer leaves the stored model as it was) "
                       "and selects it.")
    s.add_argument("model", metavar="MODEL.ert")
    _port_args(s)
    s.add_argument("--name", help="name on the board (default: MODEL's base name)")
    s.add_argument("--chunk", type=int, default=256, metavar="BYTES", help="bytes per chunk (default 256, max 1024)")
    s.set_defaults(fn=cmd_deploy)

    s = sub.add_parser("remote", help="run or benchmark the model on a board (run, bench)",
                       description="Talk to a board running `edge-rt agent`.")
    rs = s.add_subparsers(dest="remote_cmd", metavar="SUBCOMMAND")
    s.set_defaults(fn=lambda a, remote=s: (remote.print_help(), 2)[1])
    r = rs.add_parser("run", help="send an input, run, print the outputs",
                      description="Load an input (x.npy, or random) through the MLPerf `db` commands, run "
                      "`infer N 0` and print the raw outputs and the latency from the device's clock.")
    _port_args(r)
    r.add_argument("--input", metavar="x.npy", help="input array (dtype and shape of the model input)")
    r.add_argument("--output", metavar="y.npy", help="save the raw output(s)")
    r.add_argument("--repeat", type=positive_int, default=1, metavar="N", help="inferences to time (default 1)")
    r.add_argument("--seed", type=int, default=0, help="seed of the random input")
    r.set_defaults(fn=cmd_remote_run)
    b = rs.add_parser("bench", help="MLPerf Tiny style throughput benchmark",
                      description="For each of --loops loops (default 5): load the input, run W warm-up "
                      "then N timed inferences between two device timestamps; report the median. N defaults "
                      "to enough inferences for --min-seconds per loop (MLPerf Tiny requires 10 s).")
    _port_args(b)
    b.add_argument("model", nargs="?", metavar="MODEL.ert", help="local copy of the model (energy estimate)")
    b.add_argument("--input", metavar="x.npy")
    b.add_argument("--iterations", type=int, default=0, metavar="N", help="inferences per loop (default: auto)")
    b.add_argument("--warmup", type=int, default=10, metavar="W", help="warm-up inferences per loop (default 10)")
    b.add_argument("--loops", type=positive_int, default=5, help="loops (default 5)")
    b.add_argument("--min-seconds", type=float, default=1.0, metavar="S", help="window per loop when N is auto")
    b.add_argument("--seed", type=int, default=0)
    _power_args(b)
    b.set_defaults(fn=cmd_remote_bench)

    s = sub.add_parser("profile", help="latency percentiles, per-op times and energy (local or --port)",
                       description="Run many inferences and report p50/p90/p99 latency, the time of every "
                       "op, and energy per inference: measured with --power, else an estimate from op "
                       "counts and the board's [energy] coefficients. --plot writes PNGs (needs matplotlib).")
    s.add_argument("model", nargs="?", metavar="MODEL.ert", help="model to profile locally (with --port: "
                   "the local copy used for the energy estimate)")
    _port_args(s, required=False)
    s.add_argument("--runs", type=positive_int, default=200, metavar="N", help="inferences to time (default 200)")
    s.add_argument("--warmup", type=int, default=10, metavar="W", help="warm-up inferences (default 10)")
    s.add_argument("--kernels", choices=["np", "ref"], help="local kernel set (default: numpy if present)")
    s.add_argument("--input", metavar="x.npy", help="input array (default: random)")
    s.add_argument("--plot", metavar="PREFIX", help="write PREFIX_latency.png and PREFIX_ops.png")
    s.add_argument("--json", metavar="FILE", help="write the numbers as JSON")
    s.add_argument("--power-seconds", type=float, default=2.0, metavar="S",
                   help="the window measured with --power lasts at least this long (default 2)")
    _power_args(s)
    s.set_defaults(fn=cmd_profile)
