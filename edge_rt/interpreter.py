# Device runtime: map the .ert file, allocate one arena, bind every op to its kernel once,
# then invoke() is a loop over prebound callables. Device-safe (MicroPython): no typing,
# dataclasses or f-string conversions; numpy is optional.
from . import format as F
from . import reader
from .compat import HAVE_NUMPY
from .errors import EdgeRTError, InputError, ModelFormatError

if HAVE_NUMPY:
    import numpy as np
    _NP_DTYPES = {F.DT_INT8: np.int8, F.DT_UINT8: np.uint8, F.DT_INT16: np.int16,
                  F.DT_INT32: np.int32, F.DT_FLOAT32: np.float32}


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


def kernel_set(name=None):
    """The kernel set module: 'np' (numpy) or 'ref' (pure Python); default np if available."""
    if name is None:
        name = "np" if HAVE_NUMPY else "ref"
    if name == "np":
        if not HAVE_NUMPY:
            raise EdgeRTError("kernel set 'np' needs numpy, which is not installed; use 'ref'")
        from .kernels import np as ks
    elif name == "ref":
        from .kernels import ref as ks
    else:
        raise EdgeRTError("unknown kernel set %r; available: np, ref" % (name,))
    return ks


def _view(ks_name, t, arena, consts):
    buf = consts if t.kind == F.KIND_CONST else arena
    if ks_name == "np":
        return np.frombuffer(buf, _NP_DTYPES[t.dtype], t.size(), t.offset).reshape(t.shape)
    return memoryview(buf)[t.offset:t.offset + t.nbytes].cast(F.DTYPE_CODES[t.dtype])


class Interpreter:
    """Run a packed .ert model.

    Interpreter(path_or_bytes, kernels=None): kernels is 'np', 'ref' or None (numpy if present).
    """

    def __init__(self, model, kernels=None):
        buf, self._keep = _load(model)
        self.model = m = reader.parse(buf)
        ks = kernel_set(kernels)
        self.kernel_set = ks.NAME
        packed_for = m.meta.get("kernel_set", "np")
        if ks.NAME == "np" and packed_for != "np":
            raise EdgeRTError("model was packed for kernel set %r, which plans no scratch for the numpy "
                              "kernels; repack with --kernels np or run with kernels='ref'" % packed_for)
        self.arena_bytes = m.arena_bytes
        self._arena = bytearray(m.arena_bytes)
        self._views = [_view(ks.NAME, t, self._arena, m.consts) for t in m.tensors]
        missing = []
        for op in m.ops:
            if op.opcode not in ks.KERNELS:
                missing.append("op %d (%s)" % (op.index, op.name))
        if missing:
            have = sorted(F.OP_NAMES.get(c, str(c)) for c in ks.KERNELS)
            raise ModelFormatError("no %s kernel for %s; kernels available: %s" % (
                ks.NAME, ", ".join(missing), ", ".join(have)))
        self._run = [ks.KERNELS[op.opcode](op, m, self._views, self._arena) for op in m.ops]

    # -- I/O ---------------------------------------------------------------------------
    def _details(self, ids):
        out = []
        for i, tid in enumerate(ids):
            t = self.model.tensors[tid]
            out.append({"index": i, "name": t.name, "shape": t.shape,
                        "dtype": _NP_DTYPES[t.dtype] if HAVE_NUMPY else F.DTYPE_NAMES[t.dtype],
                        "scale": t.scale, "zero_point": t.zero_point})
        return out

    def input_details(self):
        return self._details(self.model.inputs)

    def output_details(self):
        return self._details(self.model.outputs)

    def _io(self, ids, i, what):
        if not isinstance(i, int) or i < 0 or i >= len(ids):
            raise InputError("%s index %r out of range: model has %d %ss" % (what, i, len(ids), what))
        return self.model.tensors[ids[i]]

    def set_input(self, i, data):
        """Copy data into input i: a numpy array of the exact shape and dtype, or any
        bytes-like object holding the raw little-endian values."""
        t = self._io(self.model.inputs, i, "input")
        where = "input %d (%s)" % (i, t.name)
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
        n = mv.nbytes if hasattr(mv, "nbytes") else len(mv)
        if n != t.nbytes:
            raise InputError("%s: %d bytes given, expected %d (%s %s)" % (
                where, n, t.nbytes, F.DTYPE_NAMES[t.dtype], t.shape))
        memoryview(self._arena)[t.offset:t.offset + t.nbytes] = mv.cast("B") if hasattr(mv, "cast") else mv

    def get_output(self, i):
        """A copy of output i: a numpy array on CPython with numpy, else a bytearray."""
        t = self._io(self.model.outputs, i, "output")
        raw = self._arena[t.offset:t.offset + t.nbytes]
        if HAVE_NUMPY:
            return np.frombuffer(raw, _NP_DTYPES[t.dtype]).reshape(t.shape).copy()
        return raw

    def invoke(self):
        for run in self._run:
            run()
