"""A numpy float32 executor for the float graph (batched: leading dimension N replaces the
graph's batch of 1). Calibration runs it to see every activation; the report runs it as the
float reference; tests check it against LiteRT's float kernels and onnxruntime."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op

ACT_RANGE = {"NONE": (None, None), "RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def activate(x, name):
    lo, hi = ACT_RANGE[name]
    return x if lo is None and hi is None else np.clip(x, lo, hi)


def same_pads(n, k, stride, dil):
    """TFLite SAME padding: (before, after) so that out = ceil(n / stride)."""
    out = -(-n // stride)
    total = max((out - 1) * stride + (k - 1) * dil + 1 - n, 0)
    return total // 2, total - total // 2


def _pads(op, x, kh, kw):
    o = op.options
    if o.get("padding") == "SAME":
        return (same_pads(x.shape[1], kh, o["stride_h"], o.get("dilation_h", 1)),
                same_pads(x.shape[2], kw, o["stride_w"], o.get("dilation_w", 1)))
    return (0, 0), (0, 0)


def _taps(x, kh, kw, op, fill=0.0):
    """Yield (i, j, strided view of the padded input under tap (i, j)) and the output size."""
    o = op.options
    sh, sw = o["stride_h"], o["stride_w"]
    dh, dw = o.get("dilation_h", 1), o.get("dilation_w", 1)
    ph, pw = _pads(op, x, kh, kw)
    xp = np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=fill)
    oh = (xp.shape[1] - (kh - 1) * dh - 1) // sh + 1
    ow = (xp.shape[2] - (kw - 1) * dw - 1) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw, :]


def conv_2d(op, x, w, b):
    _, kh, kw, _ = w.shape
    acc = None
    for i, j, v in _taps(x, kh, kw, op):
        part = v @ w[:, i, j, :].T
        acc = part if acc is None else acc + part
    return acc + (0 if b is None else b)


def depthwise(op, x, w, b):
    _, kh, kw, co = w.shape
    if co != x.shape[3]:
        x = np.repeat(x, co // x.shape[3], axis=3)
    acc = None
    for i, j, v in _taps(x, kh, kw, op):
        part = v * w[0, i, j, :]
        acc = part if acc is None else acc + part
    return acc + (0 if b is None else b)


def pool(op, x, kind):
    o = op.options
    kh, kw = o["filter_h"], o["filter_w"]
    if kind == "max":
        out = None
        for _, _, v in _taps(x, kh, kw, op, fill=-np.inf):
            out = v.copy() if out is None else np.maximum(out, v)
        return out
    ones = np.ones((1,) + x.shape[1:3] + (1,), x.dtype)
    s = c = None
    for _, _, v in _taps(x, kh, kw, op):
        s = v.copy() if s is None else s + v
    for _, _, v in _taps(ones, kh, kw, op):  # padded taps do not count
        c = v.copy() if c is None else c + v
    return s / c


def softmax(x, beta):
    z = (x - x.max(axis=-1, keepdims=True)) * beta
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _batched(shape, n):
    return (n,) + tuple(shape[1:]) if shape else (n,)


def run_op(g: Graph, op: Op, vals: dict, n: int):
    """Compute op's outputs from vals (tensor id -> array), batch size n."""
    def inp(k):
        t = op.inputs[k] if k < len(op.inputs) else -1
        if t < 0:
            return None
        return g.tensors[t].data if g.tensors[t].is_const else vals[t]
    o, t = op.options, op.type
    x = inp(0)
    if t == "CONV_2D":
        y = conv_2d(op, x, inp(1), inp(2))
    elif t == "DEPTHWISE_CONV_2D":
        y = depthwise(op, x, inp(1), inp(2))
    elif t == "FULLY_CONNECTED":
        w, b = inp(1), inp(2)
        y = x.reshape(-1, w.shape[1]) @ w.T + (0 if b is None else b)
    elif t in ("ADD", "SUB", "MUL"):
        a, c = x, inp(1)
        y = a + c if t == "ADD" else a - c if t == "SUB" else a * c
    elif t == "AVERAGE_POOL_2D":
        y = pool(op, x, "avg")
    elif t == "MAX_POOL_2D":
        y = pool(op, x, "max")
    elif t == "MEAN":
        axes = tuple(int(a) % x.ndim for a in np.ravel(inp(1)))
        y = x.mean(axis=axes, keepdims=bool(o.get("keep_dims")))
    elif t in ("RESHAPE", "SQUEEZE", "IDENTITY"):
        y = x
    elif t == "SOFTMAX":
        y = softmax(x, o.get("beta", 1.0))
    elif t == "LOGISTIC":
        y = 1.0 / (1.0 + np.exp(-x))
    elif t == "TANH":
        y = np.tanh(x)
    elif t == "RELU":
        y = np.maximum(x, 0)
    elif t == "RELU6":
        y = np.clip(x, 0, 6)
    elif t == "LEAKY_RELU":
        y = np.where(x >= 0, x, x * o.get("alpha", 0.0))
    elif t == "CONCATENATION":
        parts = [inp(k) for k in range(len(op.inputs))]
        y = np.concatenate(parts, axis=o["axis"] % parts[0].ndim)
    elif t == "PAD":
        y = np.pad(x, [tuple(int(v) for v in r) for r in inp(1)])
    elif t == "BATCH_NORM":  # inputs x, gamma, beta, mean, var over the last axis
        gm, bt, mu, var = inp(1), inp(2), inp(3), inp(4)
        y = (x - mu) / np.sqrt(var + o.get("epsilon", 1e-5)) * gm + bt
    elif t == "GLOBAL_AVERAGE_POOL":
        y = x.mean(axis=(1, 2), keepdims=True)
    else:
        raise KeyError(f"{op.where()}: no float implementation")
    y = activate(y, o.get("activation", "NONE"))
    out = g.tensors[op.outputs[0]]
    return [np.asarray(y, np.float32).reshape(_batched(out.shape, n))]


def run(g: Graph, inputs, keep_all: bool = False, on_tensor=None):
    """Run the float graph on a batch; inputs: one array per graph input (N, ...). Returns
    the outputs, or every tensor's value when keep_all. on_tensor(tid, value) sees each
    activation as it is computed (calibration statistics)."""
    n = int(np.asarray(inputs[0]).shape[0])
    vals = {}
    for tid, x in zip(g.inputs, inputs):
        vals[tid] = np.asarray(x, np.float32).reshape(_batched(g.tensors[tid].shape, n))
        if on_tensor:
            on_tensor(tid, vals[tid])
    last_use = {}
    for i, op in enumerate(g.ops):
        for tid in op.inputs:
            last_use[tid] = i
    for i, op in enumerate(g.ops):
        for tid, y in zip(op.outputs, run_op(g, op, vals, n)):
            vals[tid] = y
            if on_tensor:
                on_tensor(tid, y)
        if not keep_all:  # free what no later op reads
            for tid in op.inputs:
                if last_use.get(tid) == i and tid not in g.outputs and tid in vals:
                    del vals[tid]
    return vals if keep_all else [vals[t] for t in g.outputs]


def run_batched(g: Graph, inputs, batch: int = 64, on_tensor=None):
    """run() over chunks of `batch` samples, outputs concatenated."""
    n = int(np.asarray(inputs[0]).shape[0])
    outs = None
    for s in range(0, n, batch):
        part = run(g, [x[s:s + batch] for x in inputs], on_tensor=on_tensor)
        outs = [[p] for p in part] if outs is None else [o + [p] for o, p in zip(outs, part)]
    return [np.concatenate(o) for o in outs]
