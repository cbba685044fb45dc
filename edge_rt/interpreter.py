# Device runtime: map the .ert file, allocate one arena, bind every op to its kernel once,
# then invoke() is a loop over prebound callables. Device-safe (MicroPython): no typing,
# dataclasses or f-string conversions; numpy is optional.
#
# Streamed constants (stream=True; the default for a path on MicroPython, where a model's
# weights may be larger than the heap): the file stays open and only its tables are read
# (reader.parse_file). One weight buffer, sized by reader.weight_plan to the largest op's
# constants, holds one op's constants at a time, each at a fixed slot. Each op's kernel is
# bound to views of its slots, and just before the op runs its constants are read into them
# with f.seek() + f.readinto() on preallocated memoryviews: nothing is allocated, so
# invoke() runs with the heap locked (micropython.heap_lock()).
from . import format as F
from . import reader
from .compat import HAVE_NUMPY, MICROPYTHON, new_arena, typed_view
from .errors import EdgeRTError, InputError, ModelFormatError
from .version import __version__

if HAVE_NUMPY:
    import numpy as np
    _NP_DTYPES = {F.DT_INT8: np.int8, F.DT_UINT8: np.uint8, F.DT_INT16: np.int16,
                  F.DT_INT32: np.int32, F.DT_FLOAT32: np.float32, F.DT_INT64: np.int64}


def _fspath(model):
    """A path given as pathlib.Path or any os.PathLike becomes its str (MicroPython has no pathlib,
    so the protocol is tested for, not the type)."""
    if hasattr(model, "__fspath__"):
        model = model.__fspath__()
        if isinstance(model, bytes):
            model = model.decode()
    return model


def _load(model):
    """(buffer, keepalive) for a path or a bytes-like object; files are mmapped when possible."""
    if isinstance(model, str):
        try:
            f = open(model, "rb")
        except OSError as e:
            raise EdgeRTError("cannot open model %s: %s" % (model, e))
        try:
            import mmap
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            return mm, (f, mm)
        except (ImportError, ValueError, OSError, AttributeError):
            data = f.read()
            f.close()
            return data, None
    try:
        memoryview(model)
    except TypeError:
        raise EdgeRTError("model must be a path or a bytes-like object, got %s" % type(model).__name__)
    return model, None


_LOADED = {}  # kernel set modules already imported (an import statement costs microseconds per load)


def kernel_set(name):
    """The kernel set module called name ('c', 'np', 'ref' or 'viper', format.KERNEL_SETS)."""
    ks = _LOADED.get(name)
    if ks is None:
        ks = _LOADED[name] = _import_set(name)
    return ks


def _import_set(name):
    if name == "np":
        if not HAVE_NUMPY:
            raise EdgeRTError("kernel set 'np' needs numpy, which is not installed; use the 'ref' set (--kernels ref)")
        from .kernels import np as ks
    elif name == "ref":
        from .kernels import ref as ks
    elif name == "c":
        try:
            from .kernels import c as ks
        except ImportError as e:
            raise EdgeRTError("kernel set 'c' is not available here (the C extension is not built: %s); "
                              "use the 'np' set (--kernels np), or repack the model with --kernels np" % (e,))
    elif name == "viper":
        try:
            from .kernels import viper as ks
        except (ImportError, SyntaxError, NameError, ValueError) as e:  # ValueError: .mpy of another arch
            raise EdgeRTError("kernel set 'viper' needs MicroPython's native emitter (%s); use the 'ref' "
                              "set (--kernels ref)" % (e,))
    else:
        raise EdgeRTError("unknown kernel set %r; available: %s" % (name, ", ".join(F.KERNEL_SETS)))
    return ks


def _runs_on(s, packed):
    """Whether kernel set s may run an op whose scratch was planned for set `packed`: the same set,
    or the pure-Python set, which needs no more scratch than any other set's plan gives it."""
    return s == packed or s == "ref"


def _op_sets(m, kernels):
    """The kernel set that runs each op: as packed (META op_kernels) when kernels is None (a viper op
    on ref where viper cannot load), else the first set of kernels' fallback chain that has the op
    and may use the op's planned scratch."""
    packed_for = m.meta.get("kernel_set", "np")
    if packed_for not in F.KERNEL_CHAINS:
        raise ModelFormatError("META kernel_set %r is not a known kernel set (%s)" % (
            packed_for, ", ".join(F.KERNEL_SETS)))
    packed = m.meta.get("op_kernels") or [packed_for] * len(m.ops)
    try:
        kinds = set(packed) if isinstance(packed, list) and len(packed) == len(m.ops) else None
    except TypeError:  # an unhashable entry (a crafted META)
        kinds = None
    if kinds is None or not kinds.issubset(F.KERNEL_CHAINS):
        raise ModelFormatError("META op_kernels must list one known kernel set per op (%d ops)" % len(m.ops))
    if kernels is not None and kernels not in F.KERNEL_CHAINS:
        raise EdgeRTError("unknown kernel set %r; available: %s" % (kernels, ", ".join(F.KERNEL_SETS)))
    if kernels is None and len(kinds) == 1 and "viper" not in kinds:
        # load time: every op packed for one set that has them all (the per-op walk below otherwise)
        p = packed[0]
        ks = kernel_set(p)
        have = ks.KERNELS
        if not [c for c in set(m.opcodes) if c not in have]:  # each distinct opcode once
            return list(packed), {p: ks}
    loaded, failed = {}, {}

    def load(name, last):
        """The set's module; None for a set that cannot import here (viper on CPython) when a
        later set of the chain can stand in for it (its ops fall back per op)."""
        if name not in loaded and name not in failed:
            try:
                loaded[name] = kernel_set(name)
            except EdgeRTError as e:
                failed[name] = e
        if name in failed:
            if last:
                raise failed[name]
            return None
        return loaded[name]

    sets, missing = [], []
    for op, p in zip(m.ops, packed):
        # as packed: the op's own set; viper (native code MicroPython may lack) stands down to ref,
        # c never does silently (a c file where the extension is missing says to repack for np)
        if kernels is None and p != "viper":  # the common case, one set: no chain to walk (load time)
            ks = loaded.get(p) or load(p, True)
            if op.opcode in ks.KERNELS:
                sets.append(p)
                continue
        chain = (F.KERNEL_CHAINS[p] if p == "viper" else (p,)) if kernels is None else F.KERNEL_CHAINS[kernels]
        got = None
        for k, s in enumerate(chain):
            if not _runs_on(s, p):
                continue
            ks = load(s, k == len(chain) - 1 or s == kernels)  # an asked-for set must load
            if ks is not None and op.opcode in ks.KERNELS:
                got = s
                break
        if got is None:
            missing.append((op, p, chain))
        sets.append(got)
    if missing:
        op, p, chain = missing[0]
        if kernels is not None and p != kernels and p != "ref":
            raise EdgeRTError("model was packed for kernel set %r, which plans no scratch for the %r kernels of "
                              "op %d (%s); repack it with --kernels %s, or run it with --kernels %s" % (
                                  p, kernels, op.index, op.name, kernels, p))
        names = ["op %d (%s)" % (o.index, o.name) for o, _, _ in missing]
        first = load(chain[0], True)
        have = sorted(F.OP_NAMES.get(c, str(c)) for c in first.KERNELS)
        raise ModelFormatError("no %s kernel for %s; kernels available: %s" % (
            "/".join(chain), ", ".join(names), ", ".join(have)))
    return sets, loaded


def _view(ks_name, t, buf, offset):
    """Tensor t's view at byte offset of buf: a shaped numpy array for 'np', else a flat
    typed view (compat.typed_view)."""
    if ks_name == "np":
        return np.frombuffer(buf, _NP_DTYPES[t.dtype], t.size(), offset).reshape(t.shape)
    return typed_view(buf, offset, t.nbytes, F.DTYPE_CODES[t.dtype])


def _read_consts(f, loads):
    for pos, dst in loads:
        f.seek(pos)
        f.readinto(dst)


def _merged(spans):
    """[file position, buffer offset, bytes] spans with neighbours joined where the file holds
    them at the same distance as the buffer does (the writer and weight_plan both lay an op's
    constants out in input order, 16-byte aligned): one read instead of several per op. The
    bytes read in between land in the buffer's alignment padding, which no view uses."""
    out = []
    for pos, at, n in spans:
        if out:
            p0, a0, n0 = out[-1]
            if at >= a0 + n0 and pos - p0 == at - a0:
                out[-1][2] = at + n - a0
                continue
        out.append([pos, at, n])
    return out


def _streamed(f, loads, run):
    """The op's step: read its constants into their weight-buffer slots, then run it."""
    seek = f.seek
    readinto = f.readinto

    def step():
        for pos, dst in loads:
            seek(pos)
            readinto(dst)
        run()
    return step


def _bind(ks, op, m, v, arena):
    """Bind one op; a kernel that cannot bind (scratch too small, operands of the wrong shape:
    a file from another edge_rt version, or a damaged one) is reported, never a traceback.
    A file packed by this very version cannot be blamed on its version: that is our bug."""
    try:
        return ks.KERNELS[op.opcode](op, m, v, arena)
    except (ValueError, IndexError, TypeError, KeyError) as e:
        packed_by = m.meta.get("tool_version", "?")
        if packed_by == __version__:
            hint = "the file was packed by this edge_rt version (%s): an edge_rt bug, please report it" % (
                packed_by,)
        else:
            hint = "the file may come from another edge_rt version (packed by %s, running %s), repack it" % (
                packed_by, __version__)
        raise ModelFormatError("op %d (%s): the %s kernel cannot bind it (%s: %s); %s" % (
            op.index, op.name, ks.NAME, type(e).__name__, e, hint))


def _c_features():
    """Feature mask for the C kernels: EDGE_RT_C_FEATURES (an int; 0 = portable C) narrows what
    the CPU offers (tests and benchmarks run each SIMD path); -1 = all the CPU has."""
    try:
        import os
        data = getattr(os.environ, "_data", None)  # CPython's bytes-keyed dict on POSIX: one C lookup (load time)
        if isinstance(data, dict) and os.name == "posix":
            v = data.get(b"EDGE_RT_C_FEATURES")
        else:
            v = os.environ.get("EDGE_RT_C_FEATURES")
        return -1 if v is None else int(v)
    except (ImportError, ValueError):
        return -1


class Interpreter:
    """Run a packed .ert model.

    Interpreter(path_or_bytes, kernels=None, stream=None): kernels=None runs each op on the
    kernel set the file was packed for (META op_kernels); a set name ('c', 'np', 'ref', 'viper')
    runs each op on the first set of that set's fallback chain (format.KERNEL_CHAINS) that has it
    and can use the op's planned scratch. op_kernel_sets lists the set of each op. stream=True keeps the constants in the file and streams each op's
    constants into a weight buffer before it runs (needs a path); None means True on
    MicroPython for a path, else False. Memory: arena_bytes (activations and scratch) and
    weight_buffer_bytes (0 unless streamed). A path may be a str or any os.PathLike;
    `with Interpreter(path) as it:` closes it at the end. consumed_inputs lists the inputs whose
    bytes the plan reuses during invoke(): each must be set again before the next invoke().
    """

    def __init__(self, model, kernels=None, stream=None, threads=1):
        model = _fspath(model)
        self._run = None
        if stream is None:
            stream = MICROPYTHON and isinstance(model, str)
        self._file = None
        if stream:
            if not isinstance(model, str):
                raise EdgeRTError("stream=True needs the model's path, got %s" % type(model).__name__)
            try:
                self._file = open(model, "rb")
            except OSError as e:
                raise EdgeRTError("cannot open model %s: %s" % (model, e))
            self._keep = self._file
            try:
                m = reader.parse_file(self._file)
            except Exception:
                self._file.close()
                raise
        else:
            buf, self._keep = _load(model)
            m = reader.parse(buf)
        self.model = m
        self.streamed = bool(stream)
        try:
            op_sets, sets = _op_sets(m, kernels)
        except Exception:
            self.close()
            raise
        self.op_kernel_sets = op_sets
        # the set most ops run on (what `run`/`inspect` report first; op_kernel_sets has each op's)
        self.kernel_set = max(sets, key=op_sets.count) if op_sets else (kernels or m.meta.get("kernel_set", "np"))
        if "np" in sets:
            if threads:
                from .kernels.np.blas import set_threads
                set_threads(threads)
            if m.meta.get("np_layout") != sets["np"].LAYOUT:
                self.close()
                raise ModelFormatError("model was packed for numpy kernel layout %s by edge_rt %s; this edge_rt's "
                                       "numpy kernels need layout %d: repack it (edge-rt pack)" % (
                                           m.meta.get("np_layout", "(none)"), m.meta.get("tool_version", "?"),
                                           sets["np"].LAYOUT))
        if "c" in sets:
            if stream:
                self.close()
                raise EdgeRTError("kernel set 'c' needs the constants mapped (stream=False)")
            if m.meta.get("c_layout") != sets["c"].LAYOUT:
                self.close()
                raise ModelFormatError("model was packed for C kernel layout %s by edge_rt %s; this edge_rt's "
                                       "C kernels need layout %d: repack it (edge-rt pack)" % (
                                           m.meta.get("c_layout", "(none)"), m.meta.get("tool_version", "?"),
                                           sets["c"].LAYOUT))
            # the writer's 64-byte weights stay so in memory (a bytes model is copied once: docs/c_kernels.md)
            if m.consts is not None:
                m.consts = sets["c"].aligned(m.consts)
        self.arena_bytes = m.arena_bytes
        self.state_bytes = m.state_bytes
        self._arena = arena = new_arena(m.arena_bytes)
        # one table of views per kind of view a set binds to (numpy arrays for np; flat typed views
        # for the others)
        tables = {}
        used = None
        if "c" in sets and len(sets) > 1:  # C with fallback ops: views only of what those ops bind to
            used = set(m.inputs)
            for op, s in zip(m.ops, op_sets):
                if s != "c":
                    used.update(op.inputs)
                    used.update(op.outputs)
        for name in sets:
            vk = "np" if name == "np" else "flat"
            if vk not in tables and name != "c":  # the C binders read tensor records, not views
                tables[vk] = [None if (stream and t.kind == F.KIND_CONST) or (used is not None and t.index not in used)
                              else _view(vk, t, m.consts if t.kind == F.KIND_CONST else arena, t.offset)
                              for t in m.tensors]
        if not tables:  # C only: flat views of the graph inputs (set_input's non-numpy conversion)
            flat = tables["flat"] = [None] * len(m.tensors)
            for tid in m.inputs:
                t = m.tensors[tid]
                flat[tid] = _view("flat", t, arena, t.offset)
        self._views = tables.get("flat") or tables.get("np")
        self.weight_buffer_bytes = 0
        self._weights = None
        # invoke() consumes these inputs (the plan reuses their bytes): _stale[i] is set by invoke()
        # and cleared by set_input(i), so a second invoke() on a consumed input is refused
        self.consumed_inputs = reader.consumed_inputs(m)
        self._stale = bytearray(len(m.inputs))
        self._tables = {}  # io_convert: the uint8 edges' 256-entry maps, made once
        self.reset_state()
        self._per_op = None
        self.c_simd = None  # the SIMD path of the C kernels when some op runs on them
        self._recs = None
        if not stream:
            self._run = []
            # per op: its callable, or (op, record spec) for a C op (op_steps() makes those callable);
            # spec None: the op's record is in the file's CPROG section (bound at pack time)
            self._per_op = []
            group = []  # consecutive C ops: one C program (one call) each
            self._recs = recs = sets["c"].records(m) if "c" in sets else None
            if recs is not None and len(sets) == 1:  # load time: every op from the stored records, one program
                self._per_op = None  # op_steps() makes the per-op programs
                self._run = [self._program(sets["c"], None)] if m.opcodes else []
                return
            for op, s in zip(m.ops, op_sets):
                if s == "c":
                    group.append((op, None if recs is not None else _bind(sets[s], op, m, None, arena)))
                    self._per_op.append(group[-1])
                    continue
                if group:
                    self._run.append(self._program(sets["c"], group))
                    group = []
                self._run.append(_bind(sets[s], op, m, tables["np" if s == "np" else "flat"], arena))
                self._per_op.append(self._run[-1])
            if group:
                self._run.append(self._program(sets["c"], group))
            return
        plan, self.weight_buffer_bytes = reader.weight_plan(m)
        resident = bool(m.meta.get("resident_consts"))
        self._weights = wbuf = bytearray(self.weight_buffer_bytes)
        wmv = memoryview(wbuf)
        self._run = []
        for op, slots, s in zip(m.ops, plan, op_sets):
            vk = "np" if s == "np" else "flat"
            v = list(tables[vk])  # this op's own table: its constants' views point at its slots
            spans = []
            for tid, at in slots:
                t = m.tensors[tid]
                v[tid] = _view(vk, t, wbuf, at)
                spans.append([m.consts_offset + t.offset, at, t.nbytes])
            loads = tuple((pos, wmv[at:at + n]) for pos, at, n in _merged(spans))
            _read_consts(self._file, loads)  # bind may read its constants
            run = _bind(sets[s], op, m, v, arena)
            # resident constants were read above, once: the op runs without reading the file
            self._run.append(run if resident else _streamed(self._file, loads, run))

    def reset_state(self):
        """Put every state variable (streaming models: META "state") back to its initial value,
        as a freshly loaded model: the init image is copied into the arena's state region. The
        state otherwise survives from one invoke() to the next. No-op for stateless models.
        (TFLite Micro's reset() fills variables with their zero point instead; docs/memory.md.)"""
        t = self.model.state_init
        if t is None:
            return
        dst = memoryview(self._arena)[:t.nbytes]
        if self._file is not None:  # streamed: the image stays in the file
            self._file.seek(self.model.consts_offset + t.offset)
            self._file.readinto(dst)
        else:
            dst[:] = self.model.consts[t.offset:t.offset + t.nbytes]
    def op_steps(self):
        """One callable per op, in schedule order (per-op profiling): invoke() runs consecutive C
        ops as one call, so each C op gets its own one-op program here (made once, on request)."""
        if getattr(self, "_per_op", None) is None:
            if self._recs is None or self._run is None:
                return list(self._run)  # streamed: already one step per op
            self._per_op = [(op, None) for op in self.model.ops]  # one program from stored records
        steps = []
        for x in self._per_op:
            if isinstance(x, tuple):
                x = self._program(kernel_set("c"), [x])
            steps.append(x)
        self._per_op = steps
        return list(steps)

    def _program(self, ks, group):
        """One C call running a group of consecutive C ops (validated by the C side first)."""
        try:
            prog = ks.program(self.model, self._arena, group, _c_features(), self._recs)
        except Exception:
            self.close()
            raise
        self.c_simd = prog.simd
        return prog.run

    def close(self):
        """Release the model file (streamed mode) or mapping. The interpreter cannot run after it.
        A mapping still viewed by arrays the caller kept is released when the last one goes."""
        keep, self._keep = getattr(self, "_keep", None), None
        # drop everything that views the mapping or the arena (bound kernels, C programs, view
        # tables), then the mapping; _run None marks the interpreter closed
        self._run = None
        self._per_op = None
        self._views = None
        self._recs = None
        m = getattr(self, "model", None)
        for mv in ((m.consts, m.cprog) if m is not None else ()):
            if isinstance(mv, memoryview):
                try:
                    mv.release()
                except (BufferError, AttributeError):
                    pass
        for obj in (keep if isinstance(keep, tuple) else (keep,)):
            if obj is not None and hasattr(obj, "close"):
                try:
                    obj.close()
                except BufferError:  # exported views remain (the caller's); GC closes it
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- I/O ---------------------------------------------------------------------------
    def _conversion(self, what, i):
        """The io_convert entry when the runtime converts this I/O (the fold_io_quantize pass moved a
        QUANTIZE/DEQUANTIZE here): [int8 scale, int8 zero point, caller's tensor name] for float32,
        plus ["uint8", uint8 scale, uint8 zero point, multiplier, shift] for uint8; else None."""
        c = self.model.meta.get("io_convert")
        if not c:
            return None
        return c.get(what, {}).get(str(i))

    def _details(self, ids, what):
        out = []
        for i, tid in enumerate(ids):
            t = self.model.tensors[tid]
            conv = self._conversion(what, i)
            u8 = conv is not None and len(conv) > 3
            dt = (F.DT_UINT8 if u8 else F.DT_FLOAT32) if conv else t.dtype
            d = {"index": i, "name": conv[2] if conv else t.name, "shape": t.shape,
                 "dtype": _NP_DTYPES[dt] if HAVE_NUMPY else F.DTYPE_NAMES[dt],
                 "scale": (conv[4] if u8 else 0.0) if conv else t.scale,
                 "zero_point": (conv[5] if u8 else 0) if conv else t.zero_point}
            if conv:  # float32 / uint8 for the caller; int8 (scale, zero_point) inside the arena
                d["converted_to"] = {"dtype": "int8", "scale": conv[0], "zero_point": conv[1]}
            out.append(d)
        return out

    def input_details(self):
        return self._details(self.model.inputs, "inputs")

    def output_details(self):
        return self._details(self.model.outputs, "outputs")

    def _io(self, ids, i, what):
        if not isinstance(i, int) or i < 0 or i >= len(ids):
            raise InputError("%s index %r out of range: model has %d %ss" % (what, i, len(ids), what))
        return self.model.tensors[ids[i]]

    def set_input(self, i, data):
        """Copy data into input i: a numpy array of the exact shape and dtype, or any
        bytes-like object holding the raw little-endian values."""
        self._fill(i, data)
        self._stale[i] = 0

    def _fill(self, i, data):
        t = self._io(self.model.inputs, i, "input")
        where = "input %d (%s)" % (i, t.name)
        conv = self._conversion("inputs", i)
        if conv:
            from . import io_convert
            return io_convert.set_converted(self, i, t, data, conv, where)
        if HAVE_NUMPY and isinstance(data, np.ndarray):
            want = np.dtype(_NP_DTYPES[t.dtype])
            if data.dtype != want:
                raise InputError("%s: dtype %s given, expected %s" % (where, data.dtype, want))
            if tuple(data.shape) != tuple(t.shape):
                raise InputError("%s: shape %s given, expected %s" % (where, tuple(data.shape), tuple(t.shape)))
            dst = np.frombuffer(self._arena, want, t.size(), t.offset).reshape(t.shape)
            np.copyto(dst, data)
            return
        try:
            mv = memoryview(data)
        except TypeError:
            raise InputError("%s: expected a numpy array or bytes-like object, got %s" % (
                where, type(data).__name__))
        if hasattr(mv, "nbytes"):
            src = mv.cast("B")
        else:  # MicroPython: no nbytes/cast; bytes() gives the raw data of any buffer
            src = data if isinstance(data, (bytes, bytearray)) else bytes(data)
        n = len(src)
        if n != t.nbytes:
            raise InputError("%s: %d bytes given, expected %d (%s %s)" % (
                where, n, t.nbytes, F.DTYPE_NAMES[t.dtype], t.shape))
        memoryview(self._arena)[t.offset:t.offset + t.nbytes] = src

    def get_output(self, i):
        """A copy of output i: a numpy array on CPython with numpy, else a bytearray."""
        t = self._io(self.model.outputs, i, "output")
        raw = bytearray(memoryview(self._arena)[t.offset:t.offset + t.nbytes])
        conv = self._conversion("outputs", i)
        if conv:  # float32 / uint8 for the caller, as the folded DEQUANTIZE / QUANTIZE computes it
            from . import io_convert
            return io_convert.get_converted(self, i, t, raw, conv)
        if HAVE_NUMPY:
            return np.frombuffer(raw, _NP_DTYPES[t.dtype]).reshape(t.shape).copy()
        return raw

    def invoke(self):
        """Run the model once. Raises InputError if an input this plan consumes (consumed_inputs)
        was not set again since the last invoke(). Allocates nothing."""
        run = self._run
        if run is None:
            raise EdgeRTError("invoke() on a closed Interpreter")
        stale = self._stale
        for i in self.consumed_inputs:
            if stale[i]:
                raise InputError("input %d (%s): its bytes were reused by the previous invoke() (the memory "
                                 "plan overwrites it once read); call set_input(%d, ...) again before invoke()"
                                 % (i, self.model.tensors[self.model.inputs[i]].name, i))
        for i in self.consumed_inputs:
            stale[i] = 1
        try:
            for r in run:
                r()
        except (IndexError, ValueError, TypeError, KeyError, ZeroDivisionError, OverflowError) as e:
            # a numpy / pure-Python kernel tripping over op parameters that passed the load-time
            # checks but that no packer writes (a damaged or crafted file): one line, no traceback
            raise ModelFormatError("invoke: an op's kernel failed on this file's parameters (%s: %s); the "
                                   "file is damaged or from another edge_rt version (packed by %s), repack it"
                                   % (type(e).__name__, e, self.model.meta.get("tool_version", "?")))
