# Device agent: runs a packed model on the board and answers the MLPerf Tiny (EEMBC)
# benchmark serial protocol, plus `ert-*` deployment/profiling extensions in the same
# framing. Device-safe (MicroPython): no typing, dataclasses, os.path or f-strings.
#
# Framing (as in mlcommons/tiny benchmark/api): a command is ASCII text ended by '%',
# tokens separated by spaces; every reply is zero or more "m-..." / "e-[...]" lines ended
# by CRLF and always closed by "m-ready". A bare '%' just yields "m-ready" (host resync).
#
# Invariants:
# 1. The plan may reuse an input's bytes once it is consumed, so the input is copied into
#    the arena before every invoke (also inside the timed `infer` window, like a real
#    pre-processing step; a memcpy of the input).
# 2. Model storage (ert-upload ... ert-list) lives in agent_store.py; an upload never
#    touches the stored model until it is checked (see there).
import binascii
import struct
import sys
import time

from . import format as F
from .agent_store import ModelStore, clean as _clean, parse_int as _int
from .errors import EdgeRTError
from .version import __version__

AGENT_VERSION = "1.0"
FW_VERSION = "ULPMark for tinyML Firmware V0.0.1"   # what the reference firmware reports
MAX_CMD = 4096          # bytes per command (reference firmware: 80; ert-chunk needs more)
MAX_DB = 1 << 20        # largest `db load` buffer
MLPERF_MODELS = (("kws", "kws01"), ("vww", "vww01"), ("ad", "ad01"), ("ic", "ic01"),
                 ("resnet", "ic01"), ("person", "vww01"), ("anomaly", "ad01"))

if hasattr(time, "ticks_us"):   # MicroPython: wrapping microsecond ticks
    def ticks_us():
        return time.ticks_us()

    def elapsed_ns(t0, t1):
        return time.ticks_diff(t1, t0) * 1000

    def now():
        return time.ticks_us()
else:
    def ticks_us():
        return time.perf_counter_ns() // 1000

    def elapsed_ns(t0, t1):
        return t1 - t0

    def now():
        return time.perf_counter_ns()


def fmt3(v):
    """A value with 3 decimals truncated toward zero: the reference firmware prints
    "0.%d%d%d" of int(v*10), int(v*100)%10, int(v*1000)%10, identical for v in [0, 1)."""
    neg = v < 0
    milli = int((-v if neg else v) * 1000)
    return "%s%d.%03d" % ("-" if neg and milli else "", milli // 1000, milli % 1000)


def fmt_us(ns):
    return "%d.%03d" % (ns // 1000, ns % 1000)


def guess_mlperf_model(name):
    low = name.lower()
    for key, mid in MLPERF_MODELS:
        if low.startswith(key) or ("_" + key) in low:
            return mid
    return low.split(".")[0] or "model"


class Agent:
    """Protocol state machine. feed(bytes) consumes input; replies go to write(bytes)."""

    def __init__(self, write, model=None, store="", vendor="edge_rt", mlperf_model=None,
                 kernels=None):
        self._write = write
        self.models = ModelStore(store, self)   # uses say, load, model_path, model_name
        self.vendor = vendor
        self.kernels = kernels
        self._mlperf_model = mlperf_model
        self._buf = bytearray()
        self._overflow = False
        self.it = None
        self.model_name = None
        self.model_path = None
        self.db = bytearray(0)
        self.db_size = 0
        self.db_pos = 0
        self._results = None
        self._handlers = {
            "name": self._name, "timestamp": self._timestamp, "profile": self._profile,
            "help": self._help, "db": self._db, "infer": self._infer, "results": self._results_cmd,
            "ert-version": self._version, "ert-info": self._info, "ert-output": self._output,
            "ert-ops": self._ops,
        }
        self._handlers.update(self.models.commands())
        if model:
            self.load(model)

    # -- output -------------------------------------------------------------------------
    def say(self, line):
        self._write((line + "\r\n").encode())

    def banner(self):
        """What the reference firmware prints at boot (ee_benchmark_initialize)."""
        self.say("m-timestamp-mode-performance")
        self._timestamp([])
        self.say("m-init-done")
        self.say("m-ready")

    # -- input framing ------------------------------------------------------------------
    def feed(self, data):
        for b in bytes(data):
            if b == 37:  # '%'
                if self._overflow:
                    self._overflow = False
                    self._buf = bytearray()
                    self.say("e-[Command too long (max %d chars)]" % MAX_CMD)
                    self.say("m-ready")
                    continue
                line = bytes(self._buf)
                self._buf = bytearray()
                self.command(line)
            elif not self._overflow:
                self._buf.append(b)
                if len(self._buf) > MAX_CMD:
                    self._overflow = True
                    self._buf = bytearray()

    def command(self, raw):
        try:
            toks = raw.decode().split()
        except Exception:
            toks = None
        if toks is None:
            self.say("e-[Command is not ASCII text]")
        elif toks:
            fn = self._handlers.get(toks[0])
            if fn is None:
                self.say("e-[Unknown command: %s]" % _clean(toks[0]))
            else:
                try:
                    fn(toks[1:])
                except EdgeRTError as e:
                    self.say("e-[%s]" % _clean(e))
                except MemoryError:
                    self.say("e-[Out of memory in %s]" % toks[0])
                except Exception as e:  # the agent must outlive any bad command
                    self.say("e-[Internal error in %s: %s: %s]" % (toks[0], type(e).__name__, _clean(e)))
        self.say("m-ready")

    # -- model --------------------------------------------------------------------------
    def load(self, path, name=None):
        # ModelStore relies on this: if loading fails, it raises with self.it None.
        from .interpreter import Interpreter
        self.it = None
        try:
            import gc
            gc.collect()
        except ImportError:
            pass
        self.it = Interpreter(path, kernels=self.kernels)
        base = path.split("/")[-1]
        self.model_name = name or (base[:-4] if base.endswith(".ert") else base)
        self.model_path = path
        self._results = None

    def _need_model(self):
        if self.it is None:
            raise EdgeRTError("No model loaded; upload one with ert-upload or ert-select NAME")
        return self.it

    def mlperf_model(self):
        if self._mlperf_model:
            return self._mlperf_model
        if self.it is not None:
            return guess_mlperf_model(self.it.model.meta.get("source_name") or self.model_name)
        return "none"

    # -- reference commands -------------------------------------------------------------
    def _name(self, args):
        self.say("m-name-dut-[%s]" % self.vendor)

    def _timestamp(self, args):
        self.say("m-lap-us-%d" % ticks_us())

    def _profile(self, args):
        self.say("m-profile-[%s]" % FW_VERSION)
        self.say("m-model-[%s]" % self.mlperf_model())

    def _help(self, args):
        for line in (FW_VERSION, "", "help         : Print this information",
                     "name         : Print the name of the device",
                     "timestamp    : Generate a timestamp",
                     "db SUBCMD    : Manipulate a generic byte buffer",
                     "  load N     : Allocate N bytes and set load counter",
                     "  db HH[HH]* : Load 8-bit hex byte(s) until N bytes",
                     "  print      : Print the buffer as hex",
                     "infer N [W=10]: Load input, execute N inferences after W warmup loops",
                     "results      : Return the result fp32 vector",
                     "ert-version | ert-info | ert-output | ert-ops [K] | ert-list",
                     "ert-upload N CRC32HEX [NAME] | ert-chunk OFFSET HEX | ert-commit | ert-abort",
                     "ert-select NAME"):
            self.say(line)

    def _db(self, args):
        if not args:
            self.say("e-[Command 'db' requires a subcommand]")
        elif args[0] == "load":
            if len(args) < 2:
                self.say("e-[Command 'db load' requires the # of bytes]")
                return
            n = _int(args[1])
            if n is None or n <= 0:
                self.say("e-[Command 'db load' must be >0 bytes]")
            elif n > MAX_DB:
                self.say("e-[Supplied buffer size %d exceeds maximum of %d]" % (n, MAX_DB))
            else:
                if len(self.db) != n:
                    self.db = None
                    self.db = bytearray(n)
                self.db_size, self.db_pos = n, 0
                self.say("m-[Expecting %d bytes]" % n)
        elif args[0] == "print":
            for i in range(0, self.db_size, 8):
                piece = self.db[i:min(i + 8, self.db_size)]
                self.say("m-buffer-" + "-".join("%02x" % b for b in piece))
        else:
            hx = args[0]
            if len(hx) & 1:
                self.say("e-[Insufficent number of hex digits]")
                return
            try:
                data = binascii.unhexlify(hx)
            except Exception:
                self.say("e-[Invalid hex digit in '%s']" % _clean(hx[:16]))
                return
            room = self.db_size - self.db_pos
            if room <= 0:
                self.say("e-[Buffer is full; send 'db load N' first]")
                return
            data = data[:room]  # like the reference: digits past N bytes are disregarded
            self.db[self.db_pos:self.db_pos + len(data)] = data
            self.db_pos += len(data)
            if self.db_pos == self.db_size:
                self.say("m-load-done")

    def _inputs(self):
        """Raw bytes for each model input from the db buffer (th_load_tensor).
        The db holds the inputs' raw bytes back to back, or, for an int8/uint8 model,
        float32 values that are quantized with the input's scale and zero point (this is
        how the runner feeds ad01)."""
        it = self._need_model()
        m = it.model
        ts = [m.tensors[i] for i in m.inputs]
        raw_total = 0
        for t in ts:
            raw_total += t.nbytes
        have = self.db_pos
        if have == raw_total:
            out, off = [], 0
            for t in ts:
                out.append(memoryview(self.db)[off:off + t.nbytes])
                off += t.nbytes
            return out
        if len(ts) == 1 and ts[0].dtype in (F.DT_INT8, F.DT_UINT8) and have == 4 * ts[0].size():
            return [_quantize(self.db, ts[0])]
        raise EdgeRTError("Input db has %d bytes, expected %d (raw %s input)" % (
            have, raw_total, "+".join(F.DTYPE_NAMES[t.dtype] for t in ts)))

    def _invoke(self, inputs):
        it = self.it
        for i in range(len(inputs)):
            it.set_input(i, inputs[i])
        it.invoke()

    def _infer(self, args):
        n, w = 1, 10
        if args:
            n = _int(args[0])
            if n is None or n <= 0:
                self.say("e-[Inference iterations must be >0]")
                return
            if len(args) > 1:
                w = _int(args[1])
                if w is None or w < 0:
                    self.say("e-[Inference warmup must be >=0]")
                    return
        inputs = self._inputs()
        self.say("m-warmup-start-%d" % w)
        for _ in range(w):
            self._invoke(inputs)
        self.say("m-warmup-done")
        self.say("m-infer-start-%d" % n)
        self._timestamp(None)
        for _ in range(n):
            self._invoke(inputs)
        self._timestamp(None)
        self.say("m-infer-done")
        self._results = True
        self._results_cmd(None)

    def _outputs(self):
        """(tensor, list of values) for every output, read straight from the arena."""
        it = self.it
        res = []
        for i, tid in enumerate(it.model.outputs):
            t = it.model.tensors[tid]
            y = it.get_output(i)
            if hasattr(y, "tolist"):
                vals = y.reshape(-1).tolist()
                raw = y.tobytes()
            else:
                raw = bytes(y)
                vals = list(struct.unpack("<%d%s" % (t.size(), F.DTYPE_CODES[t.dtype]), raw))
            res.append((t, vals, raw))
        return res

    def _results_cmd(self, args):
        if self.it is None or not self._results:
            self.say("e-[No results yet; run 'infer N W' first]")
            return
        parts = []
        for t, vals, raw in self._outputs():
            if t.dtype == F.DT_FLOAT32:
                parts.extend(fmt3(v) for v in vals)
            else:
                parts.extend(fmt3((v - t.zero_point) * t.scale) for v in vals)
        self.say("m-results-[%s]" % ",".join(parts))

    # -- ert extensions -----------------------------------------------------------------
    def _version(self, args):
        board = sys.platform
        impl = getattr(sys, "implementation", None)
        if impl is not None:
            board = "%s-%s" % (impl.name, sys.platform)
        machine = ""
        try:
            import os
            machine = os.uname().machine
        except Exception:
            pass
        ks = self.it.kernel_set if self.it is not None else (self.kernels or "auto")
        self.say("m-ert-version-[%s]-[%s]-[%s]-[%s]-[%s]" % (
            __version__, AGENT_VERSION, _clean(board), _clean(machine), ks))

    def _info(self, args):
        it = self._need_model()
        m = it.model
        self.say("m-ert-model-[%s]-[%08x]-[%d]-[%d]" % (_clean(self.model_name), m.crc32,
                                                        m.arena_bytes, len(m.ops)))
        for kind, ids in (("input", m.inputs), ("output", m.outputs)):
            for i, tid in enumerate(ids):
                t = m.tensors[tid]
                self.say("m-ert-%s-[%d]-[%s]-[%s]-[%r]-[%d]-[%s]" % (
                    kind, i, F.DTYPE_NAMES[t.dtype], ",".join(str(d) for d in t.shape),
                    t.scale, t.zero_point, _clean(t.name)))

    def _output(self, args):
        self._need_model()
        if not self._results:
            raise EdgeRTError("No results yet; run 'infer N W' first")
        for i, (t, vals, raw) in enumerate(self._outputs()):
            self.say("m-ert-output-[%d]-[%s]" % (i, binascii.hexlify(raw).decode()))

    def _ops(self, args):
        """Per-op timings: K instrumented inferences on the current input (default 1);
        the reported time is the per-op median. Runs outside any timed window."""
        it = self._need_model()
        k = _int(args[0]) if args else 1
        if k is None or k <= 0:
            raise EdgeRTError("ert-ops K: K must be >0")
        inputs = self._inputs()
        runs = it.op_steps()
        per = [[] for _ in runs]
        for _ in range(k):
            for i in range(len(inputs)):
                it.set_input(i, inputs[i])
            for j in range(len(runs)):
                t0 = now()
                runs[j]()
                per[j].append(elapsed_ns(t0, now()))
        total = 0
        for j in range(len(runs)):
            ts = sorted(per[j])
            med = ts[len(ts) // 2]
            total += med
            self.say("m-ert-op-[%d]-[%s]-[%s]" % (j, it.model.ops[j].name, fmt_us(med)))
        self.say("m-ert-ops-total-[%s]-[%d]" % (fmt_us(total), k))
        self._results = True


def _quantize(db, t):
    """float32 values in db -> int8/uint8 bytes: round(v / scale) + zero_point, rounding
    half away from zero and saturating, as the reference QuantizeFloatToInt8."""
    n = t.size()
    vals = struct.unpack("<%df" % n, bytes(db[:4 * n]))
    lo, hi = (-128, 127) if t.dtype == F.DT_INT8 else (0, 255)
    out = bytearray(n)
    for i in range(n):
        x = vals[i] / t.scale
        q = int(x + 0.5) if x >= 0 else -int(-x + 0.5)
        q += t.zero_point
        q = lo if q < lo else (hi if q > hi else q)
        out[i] = q & 0xFF
    return out


def serve(agent, read, stop=None):
    """Feed agent with read() until read() returns None (end of stream) or stop() is true.
    read() may return b"" on a timeout."""
    while stop is None or not stop():
        data = read()
        if data is None:
            return
        if data:
            agent.feed(data)


def stdio_agent(model=None, store="", **kw):
    """Serve the agent on stdin/stdout: USB CDC REPL port on MicroPython, pipes on Linux.
    On a MicroPython board, main.py holds: from edge_rt.agent import stdio_agent; stdio_agent("model.ert")"""
    out = getattr(sys.stdout, "buffer", sys.stdout)

    def write(b):
        out.write(b)
        if hasattr(out, "flush"):
            out.flush()
    try:
        import os
        fd = sys.stdin.fileno()

        def read():
            b = os.read(fd, 4096)
            return b if b else None
    except (ImportError, AttributeError, OSError):
        inp = getattr(sys.stdin, "buffer", sys.stdin)

        def read():
            b = inp.read(1)
            if isinstance(b, str):
                b = b.encode()
            return b if b else None
    try:   # Ctrl-C (0x03) must not interrupt the agent; hex payloads never contain it anyway
        import micropython
        micropython.kbd_intr(-1)
    except (ImportError, AttributeError):
        pass
    agent = Agent(write, model, store, **kw)
    agent.banner()
    serve(agent, read)
    return agent
