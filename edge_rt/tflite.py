"""Drop-in for tflite-runtime / ai-edge-litert's Interpreter (CPython with numpy):

    from edge_rt.tflite import Interpreter     # was: from tflite_runtime.interpreter import Interpreter

A .tflite (model_path or model_content) is packed for the default board on first use and the
.ert is cached in $EDGE_RT_CACHE or ~/.cache/edge_rt, keyed by the model's SHA-256 and the edge_rt
version (a cache that cannot be written is skipped; a hit needs no compiler import); an .ert is
loaded as it is (a path is mmapped). Tensor indices are the .tflite's own for the inputs and
outputs (recorded in META at pack time), so scripts that hardcode them keep working. What still
differs from TFLite is listed in docs/tflite_dropin.md."""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile

import numpy as np

from . import format as F
from .errors import EdgeRTError, InputError
from .interpreter import Interpreter as _Core
from .version import __version__

__all__ = ["Interpreter", "SignatureRunner", "OpResolverType", "load_delegate", "TensorValueError",
           "DelegateError", "cache_dir"]


class TensorValueError(InputError, ValueError):
    """A wrong tensor index, dtype, shape or signature name: a ValueError, as TFLite raises."""


class DelegateError(EdgeRTError, ValueError):
    """edge_rt runs no TFLite delegates; a ValueError like a delegate that fails to load, so a
    script's usual `except ValueError:` fallback to the CPU keeps working."""


class OpResolverType:
    """Accepted for compatibility and ignored: edge_rt's kernels are bit-exact to TFLite Micro."""
    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


def load_delegate(library, options=None):
    raise DelegateError("load_delegate(%r): edge_rt runs no TFLite delegates; its own kernels run every "
                        "op on the CPU (drop experimental_delegates)" % (library,))


def cache_dir() -> str:
    """Where packed .tflite models are cached: $EDGE_RT_CACHE, else ~/.cache/edge_rt."""
    return os.environ.get("EDGE_RT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "edge_rt")


def cache_path(data: bytes, sha: str | None = None) -> str:
    """The cache file of a .tflite's bytes: <cache_dir>/<sha256>-<edge_rt version>.ert."""
    return os.path.join(cache_dir(), "%s-%s.ert" % (sha or hashlib.sha256(data).hexdigest(), __version__))


def _debug(msg: str) -> None:
    if os.environ.get("EDGE_RT_DEBUG"):
        print("edge_rt.tflite: " + msg, file=sys.stderr)


def _store(path: str, binary: bytes) -> None:
    """Write the cache entry atomically; any failure only means no cache (never an error)."""
    tmp = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(binary)
        os.replace(tmp, path)
        tmp = None
        _debug("cached %s" % path)
    except OSError as e:
        _debug("no cache (%s)" % e)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _from_tflite(data: bytes, name: str, threads: int):
    """(core interpreter, 'cache' or 'packed') for a .tflite's bytes."""
    sha = hashlib.sha256(data).hexdigest()
    path = cache_path(data, sha)
    if os.path.isfile(path):
        try:
            it = _Core(path, threads=threads)
            if it.model.meta.get("source_sha256") == sha and it.model.meta.get("tool_version") == __version__:
                return it, "cache"
            it.close()
        except (EdgeRTError, OSError) as e:  # a damaged or outdated entry is packed again
            _debug("cache entry %s not used (%s)" % (path, e))
    from .compiler.pack import pack  # only here: loading an .ert or a cache hit needs no compiler
    binary = pack(data, name, check_budget=False).binary
    _store(path, binary)
    return _Core(binary, threads=threads), "packed"


def _open(model_path, model_content, threads):
    if model_path is not None and model_content is not None:
        raise TensorValueError("Can't both provide `model_path` and `model_content`")
    if model_path is None and model_content is None:
        raise TensorValueError("Can't create interpreter without `model_path` or `model_content`")
    if model_path is not None:
        model_path = os.fspath(model_path)
        try:
            with open(model_path, "rb") as f:
                head = f.read(8)
        except OSError as e:
            raise EdgeRTError("cannot open model %s: %s" % (model_path, e)) from None
        if head[:4] == F.MAGIC:
            return _Core(model_path, threads=threads), "ert"
        if head[4:8] == b"TFL3":
            with open(model_path, "rb") as f:
                return _from_tflite(f.read(), os.path.basename(model_path), threads)
        raise EdgeRTError("%s is neither a TFLite model (.tflite) nor an edge_rt model (.ert)" % model_path)
    try:
        data = bytes(memoryview(model_content))
    except TypeError:
        raise TensorValueError("model_content must be bytes, got %s" % type(model_content).__name__) from None
    if data[:4] == F.MAGIC:
        return _Core(data, threads=threads), "ert"
    if data[4:8] == b"TFL3":
        return _from_tflite(data, "model_content.tflite", threads)
    raise EdgeRTError("model_content is neither a TFLite model (.tflite) nor an edge_rt model (.ert)")


class Interpreter:
    """tflite_runtime.interpreter.Interpreter's API over edge_rt.Interpreter (`self.edge_rt`).
    `loaded_from` says how the model came: 'ert', 'cache' (a cached pack) or 'packed'."""

    def __init__(self, model_path=None, model_content=None, experimental_delegates=None, num_threads=None,
                 experimental_op_resolver_type=OpResolverType.AUTO, experimental_preserve_all_tensors=False,
                 experimental_disable_delegate_clustering=False,
                 experimental_default_delegate_latest_features=False):
        if experimental_delegates:
            raise DelegateError("experimental_delegates: edge_rt runs no TFLite delegates; its own kernels run "
                                "every op on the CPU (drop the argument)")
        if experimental_preserve_all_tensors:
            raise TensorValueError("experimental_preserve_all_tensors: edge_rt keeps no intermediate tensors "
                                   "(the memory plan reuses their bytes); only inputs and outputs are readable")
        if num_threads is not None and (not isinstance(num_threads, int) or (num_threads < 1 and num_threads != -1)):
            raise TensorValueError("num_threads should be >= 1 or -1, got %r" % (num_threads,))
        threads = 1 if num_threads in (None, -1) else num_threads
        self.edge_rt, self.loaded_from = _open(model_path, model_content, threads)
        it = self.edge_rt
        m = it.model
        io = m.meta.get("tflite_io") or {}
        ins, outs = io.get("inputs"), io.get("outputs")
        if not (ins and outs and len(ins) == len(m.inputs) and len(outs) == len(m.outputs)):
            # an .ert packed before tflite_io existed: its own tensor ids stand in for the indices
            ins = [[t, list(m.tensors[t].shape)] for t in m.inputs]
            outs = [[t, list(m.tensors[t].shape)] for t in m.outputs]
        self._io = {}  # .tflite tensor index -> ("in" | "out", position, shape signature)
        for kind, rows in (("out", outs), ("in", ins)):  # an index both input and output is an input
            for pos, (index, sig) in enumerate(rows):
                self._io[int(index)] = (kind, pos, sig)
        self._in_index = [int(r[0]) for r in ins]
        self._out_index = [int(r[0]) for r in outs]
        self._kept = [None] * len(m.inputs)  # the last value set: re-copied when invoke() consumed it

    # -- details ------------------------------------------------------------------------
    def _lookup(self, index, what):
        if not isinstance(index, (int, np.integer)) or int(index) not in self._io:
            raise TensorValueError(
                "%s: tensor %r is not an input or output of the model (inputs %s, outputs %s); edge_rt keeps "
                "no intermediate tensors (the memory plan reuses their bytes)" % (
                    what, index, self._in_index, self._out_index))
        return self._io[int(index)]

    def _detail(self, index):
        kind, pos, sig = self._io[index]
        d = (self.edge_rt.input_details() if kind == "in" else self.edge_rt.output_details())[pos]
        scale, zp = float(d["scale"]), int(d["zero_point"])
        q = scale != 0.0  # float (or converted float) tensors carry no quantization, as in TFLite
        return {"name": d["name"], "index": index, "shape": np.array(d["shape"], np.int32),
                "shape_signature": np.array(sig, np.int32), "dtype": d["dtype"],
                "quantization": (scale, zp) if q else (0.0, 0),
                "quantization_parameters": {"scales": np.array([scale] if q else [], np.float32),
                                            "zero_points": np.array([zp] if q else [], np.int32),
                                            "quantized_dimension": 0, "block_size": 0},
                "sparsity_parameters": {}}

    def allocate_tensors(self):
        """Nothing to do: the arena was allocated from the static plan when the model loaded."""

    def get_input_details(self):
        return [self._detail(i) for i in self._in_index]

    def get_output_details(self):
        return [self._detail(i) for i in self._out_index]

    def get_tensor_details(self):
        """The inputs' and outputs' details (intermediate tensors do not exist at run time)."""
        return [self._detail(i) for i in sorted(self._io)]

    def resize_tensor_input(self, input_index, tensor_size, strict=False):
        kind, pos, _ = self._lookup(input_index, "resize_tensor_input")
        shape = tuple(self.edge_rt.input_details()[pos]["shape"]) if kind == "in" else None
        if kind != "in" or tuple(int(x) for x in tensor_size) != shape:
            raise TensorValueError("resize_tensor_input(%r, %s): edge_rt plans memory for fixed shapes; %s; "
                                   "export and pack a model with the shape you need" % (
                                       input_index, list(tensor_size), "input %d has shape %s" % (pos, list(shape))
                                       if kind == "in" else "tensor %r is an output" % (input_index,)))

    # -- data ---------------------------------------------------------------------------
    def set_tensor(self, tensor_index, value):
        kind, pos, _ = self._lookup(tensor_index, "set_tensor")
        if kind != "in":
            raise TensorValueError("Cannot set tensor: tensor %d is an output, not an input of the model"
                                   % tensor_index)
        d = self.edge_rt.input_details()[pos]
        arr = np.asarray(value)
        want = np.dtype(d["dtype"])
        if arr.dtype != want:
            raise TensorValueError("Cannot set tensor: Got value of type %s but expected type %s for input %d, "
                                   "name: %s" % (arr.dtype.name.upper(), want.name.upper(), pos, d["name"]))
        if arr.shape != tuple(d["shape"]):
            raise TensorValueError("Cannot set tensor: Dimension mismatch. Got shape %s but expected %s for input "
                                   "%d, name: %s" % (list(arr.shape), list(d["shape"]), pos, d["name"]))
        arr = np.array(arr, order="C", copy=True)
        self.edge_rt.set_input(pos, arr)
        self._kept[pos] = arr

    def invoke(self):
        it = self.edge_rt
        for i in it.consumed_inputs:  # TFLite keeps inputs across invokes; put back what the plan reused
            if not it._stale[i]:
                continue
            if self._kept[i] is None:
                raise InputError("invoke(): input %d (tensor %d) holds no value: the previous invoke() reused its "
                                 "bytes, and only set_tensor() values are kept (not writes through tensor()); set it "
                                 "again" % (i, self._in_index[i]))
            it.set_input(i, self._kept[i])
        it.invoke()

    def get_tensor(self, tensor_index, subgraph_index=0):
        """A copy of an input (the value last set) or an output."""
        kind, pos, _ = self._lookup(tensor_index, "get_tensor")
        it = self.edge_rt
        if kind == "out":
            return it.get_output(pos)
        if self._kept[pos] is not None:
            return self._kept[pos].copy()
        view = self._arena_view(pos, "get_tensor")
        if pos in it.consumed_inputs and it._stale[pos]:
            raise TensorValueError("get_tensor(%d): input %d was written through tensor() and its bytes were reused "
                                   "by invoke(); set it again first" % (tensor_index, pos))
        return view.copy()

    def _arena_view(self, pos, what):
        it = self.edge_rt
        t = it.model.tensors[it.model.inputs[pos]]
        if it._conversion("inputs", pos):
            raise TensorValueError("%s: input %d (%s) is float32 for the caller but int8 inside edge_rt, so no "
                                   "float32 buffer exists; use set_tensor()" % (what, pos, t.name))
        dt = np.dtype(it.input_details()[pos]["dtype"])
        return np.frombuffer(it._arena, dt, t.size(), t.offset).reshape(t.shape)

    def tensor(self, tensor_index):
        """A function returning a numpy view of an input or output in the arena, as TFLite's. Calling it for
        an input counts as setting that input (the caller writes through the view); a float32 output the
        runtime converts has no buffer, so its function returns a fresh copy."""
        kind, pos, _ = self._lookup(tensor_index, "tensor")
        it = self.edge_rt
        if kind == "out":
            if it._conversion("outputs", pos):
                return lambda: it.get_output(pos)
            t = it.model.tensors[it.model.outputs[pos]]
            out = np.frombuffer(it._arena, np.dtype(it.output_details()[pos]["dtype"]), t.size(), t.offset)
            out = out.reshape(t.shape)
            return lambda: out
        view = self._arena_view(pos, "tensor")

        def get():
            it._stale[pos] = 0
            self._kept[pos] = None
            return view
        return get

    # -- signatures ----------------------------------------------------------------------
    def _signatures(self):
        return self.edge_rt.model.meta.get("signatures") or {}

    def get_signature_list(self):
        return {k: {"inputs": sorted(n for n, _ in s["inputs"]), "outputs": sorted(n for n, _ in s["outputs"])}
                for k, s in self._signatures().items()}

    def get_signature_runner(self, signature_key=None):
        sigs = self._signatures()
        if signature_key is None:
            if len(sigs) != 1:
                raise TensorValueError("SignatureDef signature_key is None and model has %d Signatures. None is "
                                       "only allowed when the model has 1 SignatureDef" % len(sigs))
            signature_key = next(iter(sigs))
        if signature_key not in sigs:
            raise TensorValueError("Invalid signature_key provided: %r; the model has %s" % (
                signature_key, sorted(sigs) or "no signatures"))
        return SignatureRunner(self, signature_key, sigs[signature_key])


class SignatureRunner:
    """tflite's SignatureRunner: runner(**inputs) -> {output name: array}."""

    def __init__(self, interpreter, signature_key, sig):
        self._ip = interpreter
        self._key = signature_key
        self._inputs = dict(sorted((n, int(t)) for n, t in sig["inputs"]))
        self._outputs = dict(sorted((n, int(t)) for n, t in sig["outputs"]))
        for what, maps, kind in (("input", self._inputs, "in"), ("output", self._outputs, "out")):
            for n, t in maps.items():
                if interpreter._io.get(t, ("",))[0] != kind:
                    raise TensorValueError("signature %r: %s %r is tensor %d, not a graph %s; edge_rt serves "
                                           "signatures over the graph's inputs and outputs only" % (
                                               signature_key, what, n, t, what))

    def allocate_tensors(self):
        """Nothing to do (static plan)."""

    def get_input_details(self):
        return {n: self._ip._detail(t) for n, t in self._inputs.items()}

    def get_output_details(self):
        return {n: self._ip._detail(t) for n, t in self._outputs.items()}

    def __call__(self, **kwargs):
        if len(kwargs) != len(self._inputs):
            raise TensorValueError("Invalid number of inputs provided for running a SignatureDef, expected %d vs "
                                   "provided %d" % (len(self._inputs), len(kwargs)))
        for n, v in kwargs.items():
            if n not in self._inputs:
                raise TensorValueError("Invalid Input name (%s) for SignatureDef %r; inputs: %s" % (
                    n, self._key, ", ".join(self._inputs)))
            self._ip.set_tensor(self._inputs[n], v)
        self._ip.invoke()
        return {n: self._ip.get_tensor(t) for n, t in self._outputs.items()}
