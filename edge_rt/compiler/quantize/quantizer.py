"""Float graph + calibration ranges -> the int8 graph of TFLite's quantization spec:

1. activations: per-tensor asymmetric int8, scale = (hi - lo) / 255 over a range holding 0;
2. ops whose kernels need equal input and output grids (pools, RESHAPE, SQUEEZE, PAD,
   CONCATENATION) share one grid, the union of their tensors' ranges;
3. fixed output grids: SOFTMAX and LOGISTIC (1/256, -128), TANH (1/128, 0);
4. CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weights: per-channel symmetric int8 in
   [-127, 127], zero point 0, scale max|w_c| / 127; bias int32 at s_in * s_w[c];
5. other float constants (an operand of ADD/SUB/MUL): per-tensor asymmetric int8;
6. I/O: int8 tensors at the graph edges, or float ones with QUANTIZE/DEQUANTIZE added.

With act="int16" (TFLite's 16x8 scheme) activations are symmetric int16 (zero point 0, scale
max|x| / 32767), biases int64 at s_in * s_w[c], constant operands symmetric int16, and the
fixed grids TFLite Micro requires for int16: LOGISTIC and TANH output 2^-15, SOFTMAX output
1/32768, all zero point 0; a LOGISTIC/TANH input scale is kept below 2.6666 and a SOFTMAX
input's scale x beta below 5 (the limits of their int16 Prepare). Only ops with int16
kernels are accepted (INT16_TYPES)."""
from __future__ import annotations

import copy

import numpy as np

from ...errors import UnsupportedModelError
from ..ir import Graph, Op, Tensor
from .calibrate import grid, grid16

SHARED_GRID = ("AVERAGE_POOL_2D", "MAX_POOL_2D", "RESHAPE", "SQUEEZE", "PAD", "CONCATENATION")
FIXED_GRID = {"SOFTMAX": (1 / 256, -128), "LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}
FIXED_GRID16 = {"SOFTMAX": (1 / 32768, 0), "LOGISTIC": (2.0 ** -15, 0), "TANH": (2.0 ** -15, 0)}
# int16 input scales past these make the int16 Prepare refuse (compiler/act16.py): the
# LOGISTIC/TANH input multiplier must fit 15 bits (scale < 2.6666), SOFTMAX's scale x beta < 5
MAX_INPUT_SCALE16 = {"LOGISTIC": 2.6, "TANH": 2.6, "SOFTMAX": 4.9}
ACTIVATIONS = ("int8", "int16")
WEIGHT_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}
INT_CONST_INPUTS = {"RESHAPE": (1,), "MEAN": (1,), "PAD": (1,), "SQUEEZE": ()}


def _groups(g: Graph) -> dict[int, int]:
    """Union-find over activation tensors that must share one grid: tensor -> root."""
    parent: dict[int, int] = {}

    def find(t):
        while parent.setdefault(t, t) != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t
    for op in g.ops:
        if op.type in SHARED_GRID:
            acts = [t for t in op.inputs if t >= 0 and not g.tensors[t].is_const] + op.outputs
            for t in acts[1:]:
                parent[find(t)] = find(acts[0])
    return {t: find(t) for t in parent}


def int16_unsupported(g: Graph) -> list[str]:
    """The op types of g that have no int16 kernel (their prepare module's DTYPES name no int16)."""
    from ..op_table import dtypes_of
    from ..prepare import PREPARE
    bad = set()
    for op in g.ops:
        d = dtypes_of(op.type) if op.type in PREPARE else ""
        if "int16" not in d and d != "any":
            bad.add(op.type)
    return sorted(bad)


def activation_grids(g: Graph, ranges: dict[int, tuple[float, float]],
                     act: str = "int8") -> dict[int, tuple[float, int]]:
    """(scale, zero_point) of every activation tensor."""
    root = _groups(g)
    span: dict[int, list[float]] = {}
    for t, (lo, hi) in ranges.items():
        r = root.get(t, t)
        s = span.setdefault(r, [lo, hi])
        s[0], s[1] = min(s[0], lo), max(s[1], hi)
    table, make = (FIXED_GRID16, grid16) if act == "int16" else (FIXED_GRID, grid)
    fixed = {}
    for op in g.ops:
        if op.type in table:
            fixed[root.get(op.outputs[0], op.outputs[0])] = table[op.type]
    per_root = {r: fixed[r] if r in fixed else make(*span[r]) for r in span}
    if act == "int16":
        for op in g.ops:
            r = root.get(op.inputs[0], op.inputs[0]) if op.inputs else None
            if op.type in MAX_INPUT_SCALE16 and r in per_root and r not in fixed:
                cap = MAX_INPUT_SCALE16[op.type] / float(op.options.get("beta", 1.0))
                if per_root[r][0] > cap:  # values beyond +-cap * 32767 saturate the op anyway
                    per_root[r] = (float(np.float32(cap)), 0)
    return {t: per_root[root.get(t, t)] for t in ranges}


def quantize_weights(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel symmetric int8 along axis: (q, scales)."""
    other = tuple(i for i in range(w.ndim) if i != axis)
    amax = np.max(np.abs(w.astype(np.float64)), axis=other)
    scale = np.where(amax > 0, amax / 127.0, 1e-8).astype(np.float32)
    shp = [1] * w.ndim
    shp[axis] = -1
    q = np.clip(np.round(w / scale.astype(np.float64).reshape(shp)), -127, 127).astype(np.int8)
    return q, scale


def quantize_graph(fg: Graph, ranges: dict, io: str = "int8", act: str = "int8") -> Graph:
    """The int8 (act="int16": int16x8) graph for float graph fg (left unchanged) and activation
    ranges; io: "float", or the activation dtype."""
    if act == "int16":
        bad = int16_unsupported(fg)
        if bad:
            raise UnsupportedModelError([f"--activations int16: no int16 kernels for {', '.join(bad)} "
                                         f"(int16 ops: see `edge-rt ops`); quantize with --activations int8"])
    wide = act == "int16"
    g = copy.deepcopy(fg)
    ranges = dict(ranges)
    _split_fixed(g, ranges)
    problems = []
    acts = {t for op in g.ops for t in op.inputs + op.outputs if t >= 0 and not g.tensors[t].is_const}
    acts |= set(g.inputs) | set(g.outputs)
    missing = [t for t in acts if t not in ranges]
    if missing:
        raise UnsupportedModelError([f"tensor {t} ({g.tensors[t].name}): no calibration range" for t in missing])
    grids = activation_grids(g, {t: ranges[t] for t in acts}, act)
    for t in acts:
        s, z = grids[t]
        ten = g.tensors[t]
        ten.dtype, ten.scale, ten.zero_point = act, np.array([s], np.float32), np.array([z], np.int64)
    done = set()
    for op in g.ops:
        if op.type in WEIGHT_AXIS:
            wid = op.inputs[1]
            wt = g.tensors[wid]
            if not wt.is_const:
                problems.append(f"{op.where()}: weights must be constant")
                continue
            axis = WEIGHT_AXIS[op.type]
            q, ws = quantize_weights(fg.tensors[wid].data, axis)
            g.tensors.append(Tensor(wt.name, q.shape, "int8", ws, np.zeros(len(ws), np.int64),
                                    axis if len(ws) > 1 else 0, q))
            new_w = len(g.tensors) - 1
            s_in = float(g.tensors[op.inputs[0]].scale[0])
            b = (fg.tensors[op.inputs[2]].data.astype(np.float64) if len(op.inputs) > 2 and op.inputs[2] >= 0
                 else np.zeros(len(ws)))
            bs = (np.float64(np.float32(s_in)) * ws.astype(np.float64))
            lim, bdt = (2.0 ** 62, "int64") if wide else (2.0 ** 31 - 1, "int32")
            bq = np.clip(np.round(b / bs), -lim, lim).astype(bdt)
            name = g.tensors[op.inputs[2]].name if len(op.inputs) > 2 and op.inputs[2] >= 0 else wt.name + "/bias"
            g.tensors.append(Tensor(name, bq.shape, bdt, bs.astype(np.float32),
                                    np.zeros(len(ws), np.int64), 0, bq))
            op.inputs = [op.inputs[0], new_w, len(g.tensors) - 1]
            continue
        for k, t in enumerate(op.inputs):
            if t < 0 or not g.tensors[t].is_const or t in done:
                continue
            ten = g.tensors[t]
            if k in INT_CONST_INPUTS.get(op.type, ()):
                ten.data = ten.data.astype(np.int32)
                ten.dtype = "int32"
            elif op.type in ("ADD", "SUB", "MUL") and ten.dtype == "float32":
                s, z = (grid16 if wide else grid)(float(ten.data.min()), float(ten.data.max()))
                info = np.iinfo(act)
                ten.data = np.clip(np.round(ten.data / s) + z, info.min, info.max).astype(act)
                ten.dtype, ten.scale, ten.zero_point = act, np.array([s], np.float32), np.array([z], np.int64)
            else:
                problems.append(f"{op.where()}: constant input {k} ({ten.name}) cannot be quantized")
            done.add(t)
    if problems:
        raise UnsupportedModelError(problems)
    if io == "float":
        _float_edges(g)
    return g


def _split_fixed(g: Graph, ranges: dict) -> None:
    """A fixed-grid output (SOFTMAX, ...) read by CONCATENATION gets its own copy on the
    concatenation's grid through a requantizing QUANTIZE (int8 -> int8 or int16 -> int16), so neither grid is forced on the other."""
    for op in list(g.ops):
        if op.type not in FIXED_GRID:
            continue
        t = op.outputs[0]
        for user in [u for u in g.ops if u.type == "CONCATENATION" and t in u.inputs]:
            g.tensors.append(Tensor(g.tensors[t].name + "/requantized", g.tensors[t].shape, "float32"))
            t2 = len(g.tensors) - 1
            ranges[t2] = ranges[t]
            g.ops.insert(g.ops.index(user), Op("QUANTIZE", [t], [t2], {}, user.source))
            user.inputs = [t2 if i == t else i for i in user.inputs]


def _float_edges(g: Graph) -> None:
    """Float32 graph inputs/outputs: QUANTIZE after each input, DEQUANTIZE before each output."""
    new_in, new_out, pre, post = [], [], [], []
    for t in g.inputs:
        g.tensors.append(Tensor(g.tensors[t].name + "_float", g.tensors[t].shape, "float32"))
        f = len(g.tensors) - 1
        pre.append(Op("QUANTIZE", [f], [t]))
        new_in.append(f)
    for t in g.outputs:
        g.tensors.append(Tensor(g.tensors[t].name + "_float", g.tensors[t].shape, "float32"))
        f = len(g.tensors) - 1
        post.append(Op("DEQUANTIZE", [t], [f]))
        new_out.append(f)
    g.ops = pre + g.ops + post
    g.inputs, g.outputs = new_in, new_out
