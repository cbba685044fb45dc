"""Read a float ONNX model into the quantizer's float graph (compiler/quantize/graph.py).

Layout: ONNX is NCHW, the runtime NHWC. The change happens once, here: every 4-D tensor gets
an NHWC shape, conv weights OIHW become OHWI (or 1HWC for depthwise), channel axes of
Concat/Pad/constants are remapped, and a Flatten of an (H, W) > 1 map is absorbed by
permuting the next Gemm/MatMul's weight columns from CHW to HWC order, so no transpose is
left in the graph. The model's input becomes NHWC; calibration arrays may be given in the
ONNX (NCHW) layout (calibrate.load_samples transposes them).

Supported: Conv (groups 1 or depthwise), BatchNormalization, Relu, Clip, LeakyRelu,
Sigmoid, Tanh, Add, Sub, Mul, Gemm, MatMul, GlobalAveragePool, AveragePool, MaxPool,
ReduceMean (spatial), Flatten, Reshape (to 2-D), Softmax, Concat, Pad, Identity, Dropout,
Constant; shape arithmetic on constants (Shape, Gather, Unsqueeze, Concat, ...) is evaluated
at import. Needs the `onnx` package (`pip install edge-rt[onnx]`)."""
from __future__ import annotations

import numpy as np

from ...errors import EdgeRTError, UnsupportedModelError
from ..ir import Graph, Op, Tensor
from ..quantize.float_run import same_pads
from .onnx_fold import fold_constants

SUPPORTED = ("Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Add", "Sub",
             "Mul", "Gemm", "MatMul", "GlobalAveragePool", "AveragePool", "MaxPool", "ReduceMean", "Flatten",
             "Reshape", "Softmax", "Concat", "Pad", "Identity", "Dropout", "Constant")
NCHW_TO_NHWC = (0, 2, 3, 1)


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Importer:
    def __init__(self, model):
        from onnx import numpy_helper, shape_inference
        try:
            model = shape_inference.infer_shapes(model)
        except Exception:  # shapes we cannot infer are reported per tensor below
            pass
        self.m = model
        g = model.graph
        self.consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}  # after fold_constants
        self.shapes = {}
        for vi in list(g.input) + list(g.value_info) + list(g.output):
            dims = vi.type.tensor_type.shape.dim
            self.shapes[vi.name] = tuple(d.dim_value if d.dim_value > 0 else 1 for d in dims)
        self.tensors: list[Tensor] = []
        self.ids: dict[str, int] = {}
        self.ops: list[Op] = []
        self.chw: dict[str, tuple] = {}  # flattened maps still in CHW element order: name -> (C, H, W)
        self.problems: list[str] = []

    # -- tensors ------------------------------------------------------------------------------
    def nchw_shape(self, name):
        if name not in self.shapes:
            raise EdgeRTError(f"ONNX tensor {name}: shape unknown (shape inference failed)")
        return self.shapes[name]

    def act(self, name) -> int:
        """The id of activation `name`, created with its NHWC shape on first use."""
        if name not in self.ids:
            s = self.nchw_shape(name)
            shape = tuple(s[i] for i in NCHW_TO_NHWC) if len(s) == 4 else s
            self.tensors.append(Tensor(name, shape, "float32"))
            self.ids[name] = len(self.tensors) - 1
        return self.ids[name]

    def const(self, name, data) -> int:
        data = np.ascontiguousarray(data)
        if data.dtype.kind == "f":
            data = data.astype(np.float32)
        self.tensors.append(Tensor(name, data.shape, str(data.dtype), data=data))
        return len(self.tensors) - 1

    def value(self, name):
        return self.consts.get(name)

    def operand(self, name, rank_of) -> int:
        """An ADD/SUB/MUL operand: an activation, or a constant laid out for an NHWC partner."""
        c = self.value(name)
        if c is None:
            return self.act(name)
        c = np.asarray(c, np.float32)
        if rank_of == 4 and c.ndim >= 3:  # (C,1,1) or (1,C,1,1) broadcast over NCHW
            c = c.reshape((1,) * (4 - c.ndim) + c.shape).transpose(NCHW_TO_NHWC)
            c = c.reshape(c.shape[-1:]) if c.shape[:3] == (1, 1, 1) else c
        return self.const(name, c)

    def emit(self, type_, ins, out_name, i, **opts):
        self.ops.append(Op(type_, ins, [self.act(out_name)], opts, [i]))

    # -- nodes --------------------------------------------------------------------------------
    def node(self, i, n):
        t, a = n.op_type, _attrs(n)
        ins, out = list(n.input), n.output[0] if n.output else None
        where = f"ONNX node {i} ({t} {n.name or out})"
        if t == "Constant":
            from onnx import numpy_helper
            self.consts[out] = numpy_helper.to_array(a["value"]) if "value" in a else np.asarray(
                a.get("value_float", a.get("value_floats", a.get("value_ints"))))
            return
        if t not in SUPPORTED:
            self.problems.append(f"{where}: op not supported; supported: {', '.join(SUPPORTED)}")
            return
        if t in ("Identity", "Dropout"):
            self.chw.update({out: self.chw[ins[0]]} if ins[0] in self.chw else {})
            self.emit("IDENTITY", [self.act(ins[0])], out, i)
        elif t == "Conv":
            self.conv(i, n, a, where)
        elif t == "BatchNormalization":
            x = self.act(ins[0])
            self.emit("BATCH_NORM", [x] + [self.const(s, self.value(s)) for s in ins[1:5]], out, i,
                      epsilon=float(a.get("epsilon", 1e-5)))
        elif t == "Relu":
            self.emit("RELU", [self.act(ins[0])], out, i)
        elif t == "Clip":
            lo = a.get("min", self.value(ins[1]) if len(ins) > 1 and ins[1] else -np.inf)
            hi = a.get("max", self.value(ins[2]) if len(ins) > 2 and ins[2] else np.inf)
            kind = {(0.0, 6.0): "RELU6", (0.0, np.inf): "RELU", (-1.0, 1.0): "RELU_N1_TO_1"}.get(
                (float(np.asarray(lo)), float(np.asarray(hi))))
            if kind is None:
                self.problems.append(f"{where}: Clip({float(lo)}, {float(hi)}) not supported; "
                                     "supported: (0, 6), (0, inf), (-1, 1)")
                return
            self.emit(kind, [self.act(ins[0])], out, i)
        elif t == "LeakyRelu":
            self.emit("LEAKY_RELU", [self.act(ins[0])], out, i, alpha=float(a.get("alpha", 0.01)))
        elif t in ("Sigmoid", "Tanh"):
            self.emit("LOGISTIC" if t == "Sigmoid" else "TANH", [self.act(ins[0])], out, i)
        elif t in ("Add", "Sub", "Mul"):
            rank = len(self.nchw_shape(out))
            self.emit(t.upper(), [self.operand(ins[0], rank), self.operand(ins[1], rank)], out, i,
                      activation="NONE")
        elif t in ("Gemm", "MatMul"):
            self.dense(i, n, a, where)
        elif t == "GlobalAveragePool":
            self.emit("GLOBAL_AVERAGE_POOL", [self.act(ins[0])], out, i)
        elif t == "ReduceMean":
            axes = a.get("axes", self.value(ins[1]) if len(ins) > 1 else None)
            if axes is None or sorted(int(x) % 4 for x in axes) != [2, 3] or len(self.nchw_shape(ins[0])) != 4:
                self.problems.append(f"{where}: only ReduceMean over the spatial axes (2, 3) is supported")
                return
            keep = bool(a.get("keepdims", 1))
            self.emit("MEAN", [self.act(ins[0]), self.const(out + "/axes", np.array([1, 2], np.int32))], out, i,
                      keep_dims=keep)
        elif t in ("AveragePool", "MaxPool"):
            self.pool(i, n, a, where)
        elif t in ("Flatten", "Reshape"):
            s = self.nchw_shape(ins[0])
            o = self.nchw_shape(out)
            if len(o) != 2 or (t == "Flatten" and a.get("axis", 1) != 1):
                self.problems.append(f"{where}: only a flatten to (N, K) is supported")
                return
            if len(s) == 4 and s[2] * s[3] > 1:
                self.chw[out] = tuple(s[1:])
            self.emit("RESHAPE", [self.act(ins[0]), self.const(out + "/shape", np.array(o, np.int32))], out, i)
        elif t == "Softmax":
            if a.get("axis", -1) not in (-1, len(self.nchw_shape(ins[0])) - 1):
                self.problems.append(f"{where}: Softmax over axis {a.get('axis')} not supported; supported: the last")
                return
            self.emit("SOFTMAX", [self.act(ins[0])], out, i, beta=1.0)
        elif t == "Concat":
            rank = len(self.nchw_shape(out))
            axis = a["axis"] % rank
            axis = NCHW_TO_NHWC.index(axis) if rank == 4 else axis
            self.emit("CONCATENATION", [self.act(x) for x in ins], out, i, axis=axis, activation="NONE")
        elif t == "Pad":
            pads = a.get("pads", self.value(ins[1]) if len(ins) > 1 else None)
            value = self.value(ins[2]) if len(ins) > 2 and ins[2] else a.get("value", 0.0)
            if a.get("mode", b"constant") not in (b"constant", "constant") or float(np.asarray(value)) != 0.0:
                self.problems.append(f"{where}: only zero constant padding is supported")
                return
            p = np.asarray(pads, np.int64).reshape(2, -1).T  # (rank, 2) in NCHW order
            if len(p) == 4:
                p = p[list(NCHW_TO_NHWC)]
            self.emit("PAD", [self.act(ins[0]), self.const(out + "/pads", p.astype(np.int32))], out, i)

    def _padding(self, a, x_nchw, k, strides, dil, where):
        """TFLite padding for ONNX pads/auto_pad, or an explicit pad amount (PAD op needed)."""
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER",):
            return "SAME", None
        if auto == "VALID":
            return "VALID", None
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if not any(pads):
            return "VALID", None
        same = [same_pads(x_nchw[2 + d], k[d], strides[d], dil[d]) for d in range(2)]
        if (pads[0], pads[2]) == same[0] and (pads[1], pads[3]) == same[1]:
            return "SAME", None
        return "VALID", [[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]]

    def _padded_input(self, i, x_name, explicit):
        x = self.act(x_name)
        if explicit is None:
            return x
        s = self.tensors[x].shape
        shape = (s[0], s[1] + sum(explicit[1]), s[2] + sum(explicit[2]), s[3])
        self.tensors.append(Tensor(x_name + "/padded", shape, "float32"))
        y = len(self.tensors) - 1
        self.ops.append(Op("PAD", [x, self.const(x_name + "/pads", np.array(explicit, np.int32))], [y], {}, [i]))
        return y

    def conv(self, i, n, a, where):
        ins, out = list(n.input), n.output[0]
        w = self.value(ins[1])
        if w is None or w.ndim != 4:
            self.problems.append(f"{where}: only 2-D convolutions with constant weights are supported")
            return
        xs = self.nchw_shape(ins[0])
        group = int(a.get("group", 1))
        k = w.shape[2:]
        strides = list(a.get("strides", [1, 1]))
        dil = list(a.get("dilations", [1, 1]))
        padding, explicit = self._padding(a, xs, k, strides, dil, where)
        x = self._padded_input(i, ins[0], explicit)
        b = self.value(ins[2]) if len(ins) > 2 and ins[2] else np.zeros(w.shape[0], np.float32)
        opts = dict(padding=padding, stride_h=strides[0], stride_w=strides[1], dilation_h=dil[0],
                    dilation_w=dil[1], activation="NONE")
        if group == 1:
            wt = self.const(ins[1], w.transpose(0, 2, 3, 1))            # OIHW -> OHWI
            self.emit("CONV_2D", [x, wt, self.const(out + "/bias", b)], out, i, **opts)
        elif group == xs[1] and w.shape[1] == 1:
            wt = self.const(ins[1], w.transpose(1, 2, 3, 0))            # (C*M,1,H,W) -> (1,H,W,C*M)
            self.emit("DEPTHWISE_CONV_2D", [x, wt, self.const(out + "/bias", b)], out, i,
                      depth_multiplier=w.shape[0] // group, **opts)
        else:
            self.problems.append(f"{where}: grouped convolution (group {group}) not supported; "
                                 "supported: 1 and depthwise")

    def dense(self, i, n, a, where):
        ins, out = list(n.input), n.output[0]
        w = self.value(ins[1])
        if w is None or w.ndim != 2 or len(self.nchw_shape(ins[0])) != 2:
            self.problems.append(f"{where}: only (N, K) x constant (K, N) products are supported")
            return
        w = np.asarray(w, np.float32)
        if n.op_type == "Gemm":
            if a.get("transA", 0):
                self.problems.append(f"{where}: transA not supported")
                return
            w = w if a.get("transB", 0) else w.T
            w = w * float(a.get("alpha", 1.0))
        else:
            w = w.T
        if ins[0] in self.chw:  # columns in CHW order -> the HWC order of the NHWC map
            c, h, wd = self.chw[ins[0]]
            w = w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
        bias = -1
        if n.op_type == "Gemm" and len(ins) > 2 and ins[2]:
            cb = self.value(ins[2])
            if cb is None or cb.size not in (1, w.shape[0]):
                self.problems.append(f"{where}: the bias C must be a constant vector")
                return
            cb = np.broadcast_to(np.asarray(cb, np.float32).reshape(-1), (w.shape[0],)) * float(a.get("beta", 1.0))
            bias = self.const(out + "/bias", cb)
        self.emit("FULLY_CONNECTED", [self.act(ins[0]), self.const(ins[1], w), bias], out, i,
                  activation="NONE", keep_num_dims=False)

    def pool(self, i, n, a, where):
        ins, out = list(n.input), n.output[0]
        k = list(a["kernel_shape"])
        strides = list(a.get("strides", [1, 1]))
        if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
            self.problems.append(f"{where}: ceil_mode and dilations not supported")
            return
        padding, explicit = self._padding(a, self.nchw_shape(ins[0]), k, strides, [1, 1], where)
        if explicit is not None or (padding == "SAME" and n.op_type == "AveragePool"
                                    and not a.get("count_include_pad", 0) == 0):
            self.problems.append(f"{where}: padding {list(a.get('pads', []))} not supported; supported: none or SAME")
            return
        self.emit("AVERAGE_POOL_2D" if n.op_type == "AveragePool" else "MAX_POOL_2D", [self.act(ins[0])], out, i,
                  padding=padding, stride_h=strides[0], stride_w=strides[1], filter_h=k[0], filter_w=k[1],
                  activation="NONE")


def import_onnx(model, name: str | None = None) -> Graph:
    """A float graph (NHWC) from an ONNX path, bytes or ModelProto."""
    try:
        import onnx
    except ImportError:
        raise EdgeRTError("reading .onnx needs the onnx package: pip install 'edge-rt[onnx]'") from None
    if isinstance(model, (str, bytes, bytearray)):
        try:
            model = onnx.load_from_string(bytes(model)) if not isinstance(model, str) else onnx.load(model)
        except Exception as e:
            raise EdgeRTError(f"not a readable ONNX model: {type(e).__name__}: {e}") from None
    model = fold_constants(model)
    imp = _Importer(model)
    g = model.graph
    inits = set(imp.consts)
    inputs = [vi.name for vi in g.input if vi.name not in inits]
    for x in inputs:
        imp.act(x)
    for i, n in enumerate(g.node):
        try:
            imp.node(i, n)
        except (KeyError, EdgeRTError) as e:
            imp.problems.append(f"ONNX node {i} ({n.op_type} {n.name}): {e}")
    if imp.problems:
        raise UnsupportedModelError(imp.problems)
    meta = {"source_name": name or "model.onnx", "source_ops": len(g.node)}
    if any(len(imp.nchw_shape(x)) == 4 for x in inputs):
        meta["nchw_inputs"] = [imp.nchw_shape(x) for x in inputs]
    return Graph(imp.tensors, imp.ops, [imp.ids[x] for x in inputs], [imp.ids[o.name] for o in g.output], meta)
